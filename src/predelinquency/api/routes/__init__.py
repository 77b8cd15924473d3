"""One router per concern: scoring, portfolio reads, today's plan, actions (writes), measured effects, the
control group, retraining, health."""
