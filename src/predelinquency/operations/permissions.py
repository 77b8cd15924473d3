"""The role matrix in one place: which role may do what, enforced by the operations themselves."""

from __future__ import annotations

from sqlalchemy import Connection

from predelinquency.errors import Forbidden, PdeError
from predelinquency.operations.accounts import User, get_user

ROLES = ("officer", "manager", "admin")
_OFFICER = frozenset(ROLES)
_MANAGER = frozenset({"manager", "admin"})
_ADMIN = frozenset({"admin"})

# action -> (roles allowed, what it means in words for the refusal message)
PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    "create_intervention": (_OFFICER, "create interventions"),
    "update_intervention": (_OFFICER, "change the status of interventions"),
    "snooze_customer": (_OFFICER, "snooze customers"),
    "record_outcome": (_OFFICER, "record intervention outcomes"),
    "assign_self": (_OFFICER, "assign unassigned customers to themselves"),
    "manage_own_api_keys": (_OFFICER, "create and revoke their own API keys"),
    "assign_any": (_MANAGER, "assign customers to other officers or take another officer's customers"),
    "promote_model": (_MANAGER, "promote a model to champion"),
    "retrain_model": (_MANAGER, "trigger model retraining"),
    "generate_data": (_MANAGER, "generate synthetic data"),
    "run_nightly": (_MANAGER, "trigger the nightly scoring run"),
    "upload_data": (_MANAGER, "upload bank data"),
    "view_audit": (_MANAGER, "read the audit log"),
    "manage_holdout": (_MANAGER, "see the control group's size, change its share, or release a customer from it"),
    "advance_bank": (_MANAGER, "advance the synthetic bank"),
    "manage_users": (_ADMIN, "manage user accounts"),
    "manage_api_keys": (_ADMIN, "manage other users' API keys"),
}

# The CLI and scheduled jobs act as the operating-system account that runs them: whoever can run
# `pde` against the database already holds its credentials, so such actors pass every check. They are
# strings with these prefixes; any other string is refused so a route cannot pass a bare username
# and skip the role check by accident.
SYSTEM_PREFIXES = ("cli:", "system:")

def is_system(actor: User | str) -> bool:
    """True for a CLI or job actor string ('cli:NAME', 'system:NAME')."""
    if isinstance(actor, str):
        if not actor.startswith(SYSTEM_PREFIXES) or len(actor) <= 4:
            raise ValueError(
                f"actor {actor!r} is neither a User nor a system actor ('cli:NAME' or 'system:NAME'); "
                "pass the logged-in User")
        return True
    return False


def actor_name(actor: User | str) -> str:
    """The name written to the audit log: the username, or the system actor string itself."""
    return actor if is_system(actor) else actor.username


def allowed(user: User | str, action: str) -> bool:
    """Whether this user (or system actor) may perform the action; pages use it to hide what would be refused."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(sorted(PERMISSIONS))}")
    if is_system(user):
        return True
    return user.is_active and user.role in PERMISSIONS[action][0]


def allowed_roles(action: str) -> list[str]:
    """The roles that may perform the action, in ROLES order."""
    return [r for r in ROLES if r in PERMISSIONS[action][0]]


def require(user: User | str, action: str) -> None:
    """Returns nothing; raises Forbidden naming the user's role and the refused action."""
    if allowed(user, action):
        return
    if not user.is_active:
        raise Forbidden(f"user {user.username} is deactivated and may not {PERMISSIONS[action][1]}")
    raise Forbidden(f"user {user.username} has role {user.role}, which may not {PERMISSIONS[action][1]} "
                    f"(action '{action}' needs role {' or '.join(allowed_roles(action))})")


def authorise(conn: Connection, actor: User | str, action: str) -> User | str:
    """The actor as it is in the database now (role, active), after checking it may perform the action.

    A dashboard session or API key may outlive a demotion or deactivation; re-reading the user row makes the
    check use the current role, not the one at login.
    """
    if is_system(actor):
        return actor
    current = get_user(conn, actor.user_id)
    require(current, action)
    return current


def acting_user_id(actor: User | str) -> int:
    """The user_id recorded as created_by/assigned_by; system actors have none, so they are refused here."""
    if is_system(actor):
        raise PdeError(f"{actor} cannot do this: it is recorded against a user account; "
                       "log in to the dashboard or use an API key")
    return actor.user_id
