"""The write side shared by the dashboard and the REST API: every change is made here, audited in its transaction.

Conventions for every write function in this package:
- it takes a SQLAlchemy Connection; the caller owns the outer transaction and commits it. Inside, the
  function works in a savepoint (`conn.begin_nested()`), so a refused or failed operation leaves nothing
  behind even when it runs inside a larger transaction;
- it takes the acting user (a `users.User`, or for user and API-key management from the CLI and jobs a
  system actor string such as 'cli:root'), re-reads that user's role and state from the database and
  checks `permissions`: the server enforces the role matrix, not only the page;
- it writes one `action_audit_log` row (actor, action, entity, before, after) in the same savepoint;
- problems the user can fix raise `PdeError` subclasses: NotFound, Conflict, Forbidden, `users.AuthError`,
  or plain PdeError for invalid input.
"""
