"""User-facing errors: raised where the problem is understood, shown in the user's terms."""


class PdeError(Exception):
    """A problem the user can fix (bad input, missing data, refused action); never a bug."""


class NotFound(PdeError):
    """The named customer, model, intervention or user does not exist."""


class Conflict(PdeError):
    """The action clashes with the current state (duplicate, concurrent update, job already running)."""


class HeldOut(Conflict):
    """The customer is in the control group that measures what contacts prevent: not to be contacted."""


class Forbidden(PdeError):
    """The acting user's role may not do this."""
