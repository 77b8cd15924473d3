"""One router per concern: scoring, portfolio reads, actions (writes), retraining, health."""
