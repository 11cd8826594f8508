"""Logins, accounts, integrators' API keys and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from app.accounts import invitations, service
from app.accounts.deps import CurrentPrincipal
from app.accounts.notices import SentLink
from app.accounts.principal import Role
from app.accounts.schemas import (
    AcceptedOut,
    AccountCreate,
    AccountOut,
    AccountPatch,
    AccountRole,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditEntryOut,
    InvitationOut,
    LoginIn,
    MeOut,
    PasswordResetIn,
    SetPasswordIn,
    TokenOut,
)
from app.accounts.throttle import LoginThrottle, LoginThrottled, RequestsThrottled
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.session import SessionDep
from app.errors import Conflict, Unauthenticated
from app.inputs import Id
from app.mail.tokens import LinkInvalid
from app.pagination import Page, PageParamsDep
from app.problems import problem_response
from app.settings import SettingsDep

router = APIRouter(tags=["accounts"])


@router.post(
    "/auth/login",
    response_model=TokenOut,
    responses={
        401: {"description": "The email or the password is wrong (one answer for both)"},
        403: {"description": "The account is deactivated"},
        429: {
            "description": "Too many failed logins with this email: try again after `Retry-After` seconds",
            "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
        },
    },
)
def login(body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep) -> Response | TokenOut:
    """Log in with email and password and get a bearer token for `Authorization: Bearer <token>`.

    The token expires after the configured number of hours (`EMONEV_TOKEN_TTL_HOURS`, default 12) or at
    logout. A wrong email and a wrong password get the same 401; a deactivated account gets 403.

    After `EMONEV_LOGIN_MAX_FAILURES` (10) failed logins with one email within
    `EMONEV_LOGIN_FAILURE_WINDOW_MINUTES` (15), further logins with it get 429 with a `Retry-After` header,
    whatever the password, until the oldest failure is older than the window. A successful login clears them.
    """
    try:
        result = service.login(
            session=session,
            email=body.email,
            password=body.password,
            ttl_hours=settings.token_ttl_hours,
            throttle=LoginThrottle.from_settings(settings),
        )
    except Unauthenticated:
        # The request's transaction is rolled back on an error, but the failure must stay counted.
        session.commit()
        raise
    except LoginThrottled as exc:
        return problem_response(exc.problem(request.url.path), {"Retry-After": str(exc.retry_after)})
    return TokenOut(
        access_token=result.token,
        expires_at=result.expires_at,
        account=AccountOut.model_validate(result.account),
    )


RESET_ACCEPTED = (
    "If this address belongs to an active account, a link to choose a new password is on its way; it works "
    "once, for a limited time."
)
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many requests for this address or from this client: try again after "
        "`Retry-After` seconds",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    }
}


def client_of(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy, as uvicorn's proxy headers make it)."""
    return request.client.host if request.client is not None else "unknown"


@router.post(
    "/auth/password-reset",
    response_model=AcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=TOO_MANY,
)
def password_reset(
    body: PasswordResetIn, request: Request, session: SessionDep, settings: SettingsDep
) -> Response | AcceptedOut:
    """Ask for a link to choose a new password, sent to the address if it belongs to an active account.

    The answer is the same 202 whether or not it does. The link works once, for
    `EMONEV_PASSWORD_RESET_VALID_MINUTES` (60); using it ends the account's sessions. Requests are limited per
    address (`EMONEV_PASSWORD_RESET_PER_ADDRESS`, 3) and per client (`EMONEV_PASSWORD_RESET_PER_CLIENT`, 20)
    within `EMONEV_PASSWORD_RESET_WINDOW_MINUTES` (60), counted whether or not the address exists: past
    either, 429 with `Retry-After`.
    """
    try:
        invitations.count_password_reset(
            session=session, email=body.email, client=client_of(request), settings=settings
        )
    except RequestsThrottled as exc:
        return problem_response(exc.problem(request.url.path), {"Retry-After": str(exc.retry_after)})
    session.commit()  # the count stays, whatever happens next
    invitations.request_password_reset(session=session, email=body.email, settings=settings)
    return AcceptedOut(detail=RESET_ACCEPTED)


@router.post("/auth/set-password", response_model=TokenOut, responses=problems(LinkInvalid))
def set_password(body: SetPasswordIn, session: SessionDep, settings: SettingsDep) -> TokenOut:
    """Set a password with the single-use link of an invitation or a password reset (its `token`), and log
    in. The link stops working, as do the account's other links and sessions. A link that is unknown, used,
    replaced by a newer one or expired gets 400 (`link-invalid`); a password too short, 422."""
    result = invitations.set_password(
        session=session, secret=body.token, password=body.password, settings=settings
    )
    return TokenOut(
        access_token=result.token,
        expires_at=result.expires_at,
        account=AccountOut.model_validate(result.account),
    )


def _invitation_out(sent: SentLink) -> InvitationOut:
    return InvitationOut(
        account_id=sent.account.id,
        recipient=sent.notice.recipient,
        notice_id=sent.notice.id,
        notice_status=sent.notice.status,
        expires_at=sent.token.expires_at,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Revoke the bearer token this request carries. API keys are revoked by an administrator instead."""
    service.logout(session=session, by=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me", response_model=MeOut)
def me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    """Who the request acts as: the logged-in account, or the API key and its scope."""
    found = service.me(session=session, by=principal)
    return MeOut(
        role=found.principal.role,
        commission_id=found.principal.commission_id,
        body_id=found.principal.body_id,
        account=AccountOut.model_validate(found.account) if found.account else None,
        api_key=ApiKeyOut.model_validate(found.api_key) if found.api_key else None,
    )


@router.post(
    "/accounts",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    responses={**problems(Conflict), **new_resource("The new account; `Location` is its URL")},
)
def create_account(
    body: AccountCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    response: Response,
    settings: SettingsDep,
) -> AccountOut:
    """Create an account (password at least 10 characters; emails are unique, a duplicate is a 409).

    Without `password` the account is created waiting for activation (`activated: false`; logging in
    fails like a wrong password) and its holder is sent an invitation with a single-use link to set one,
    valid `EMONEV_INVITATION_VALID_DAYS` (7).

    A commission administrator creates administrators, verifiers, panel members and PPID operators (with the
    `body_id` of one of its public bodies) of its own commission; a system administrator also creates system
    administrators and accounts of any commission.
    """
    account = service.create_account(
        session=session,
        by=principal,
        email=body.email,
        name=body.name,
        role=Role(body.role),
        password=body.password,
        commission_id=body.commission_id,
        body_id=body.body_id,
        invite=body.invite,
        invitation_valid_for=timedelta(days=settings.invitation_valid_days),
    )
    response.headers["Location"] = location(request, "get_account", account_id=account.id)
    return AccountOut.model_validate(account)


@router.get("/accounts", response_model=Page[AccountOut])
def list_accounts(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    commission_id: Annotated[Id | None, Query(description="A system administrator's filter.")] = None,
    role: AccountRole | None = None,
    active: bool | None = None,
    body_id: Id | None = None,
) -> Page[AccountOut]:
    """The accounts you manage, by id: a commission administrator's commission, or (system administrator)
    every account or one commission's."""
    result = service.list_accounts(
        session=session,
        by=principal,
        params=page,
        commission_id=commission_id,
        role=Role(role) if role else None,
        active=active,
        body_id=body_id,
    )
    return result.map(AccountOut.model_validate)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: Id, principal: CurrentPrincipal, session: SessionDep) -> AccountOut:
    """One account: your own, or one you manage."""
    return AccountOut.model_validate(
        service.get_account(session=session, by=principal, account_id=account_id)
    )


@router.patch("/accounts/{account_id}", response_model=AccountOut, responses=problems(Conflict))
def update_account(
    account_id: Id, body: AccountPatch, principal: CurrentPrincipal, session: SessionDep
) -> AccountOut:
    """Change an account; only the fields sent change. Accounts are deactivated (`active: false`), never
    deleted.

    You may change your own `name` and `password` (send `old_password` too). Administrators change the
    rest of the accounts they manage and set a new password without the old one; nobody changes their own
    role or deactivates themselves. A new password or a deactivation ends the account's other sessions.
    """
    account = service.update_account(
        session=session, by=principal, account_id=account_id, changes=body.model_dump(exclude_unset=True)
    )
    return AccountOut.model_validate(account)


@router.post(
    "/accounts/{account_id}/invitation",
    response_model=InvitationOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(Conflict),
)
def send_invitation(
    account_id: Id, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> InvitationOut:
    """(Re)send the invitation of an account waiting for activation: a new single-use link, valid
    `EMONEV_INVITATION_VALID_DAYS`; the earlier link stops working. For whoever manages the account. An
    account that already has a password, or is deactivated, gets 409 (its holder uses the password reset)."""
    sent = invitations.resend_invitation(
        session=session,
        by=principal,
        account_id=account_id,
        valid_for=timedelta(days=settings.invitation_valid_days),
    )
    return _invitation_out(sent)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=new_resource("The new key, shown this once; `Location` is the list of the commission's keys"),
)
def create_api_key(
    body: ApiKeyCreate, principal: CurrentPrincipal, session: SessionDep, request: Request, response: Response
) -> ApiKeyCreated:
    """Issue an API key for an integrator (commission administrators). The key is in this response only;
    the service keeps its digest and a short prefix.

    Scope `read` reads everything of the commission and changes nothing; scope `body` acts as the PPID
    operator of `body_id`. Send the key as `X-API-Key: <key>` or `Authorization: Bearer <key>`.
    """
    created = service.create_api_key(
        session=session,
        by=principal,
        name=body.name,
        scope=body.scope,
        body_id=body.body_id,
        commission_id=body.commission_id,
    )
    response.headers["Location"] = location(request, "list_api_keys")
    return ApiKeyCreated(**ApiKeyOut.model_validate(created.row).model_dump(), key=created.key)


@router.get("/api-keys", response_model=Page[ApiKeyOut])
def list_api_keys(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    commission_id: Annotated[Id | None, Query(description="A system administrator's filter.")] = None,
) -> Page[ApiKeyOut]:
    """The commission's API keys, revoked ones included (with `revoked_at`), without their secrets."""
    result = service.list_api_keys(session=session, by=principal, params=page, commission_id=commission_id)
    return result.map(ApiKeyOut.model_validate)


@router.delete("/api-keys/{api_key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(api_key_id: Id, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Revoke an API key: from now on it gets 401. Revoking a revoked key is a no-op."""
    service.revoke_api_key(session=session, by=principal, key_id=api_key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", response_model=Page[AuditEntryOut])
def list_audit(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    commission_id: Annotated[Id | None, Query(description="A system administrator's filter.")] = None,
    entity: Annotated[str | None, Query(description="e.g. `account`, `submission`.")] = None,
    entity_id: str | None = None,
    actor: Annotated[
        str | None, Query(description="An account id, or an actor label (e-mail or `api-key:<prefix>`).")
    ] = None,
) -> Page[AuditEntryOut]:
    """The append-only audit log, oldest first: who changed what, when, with the values before and after.
    A commission administrator reads its commission's entries; a system administrator all of them."""
    result = service.list_audit(
        session=session,
        by=principal,
        params=page,
        commission_id=commission_id,
        entity=entity,
        entity_id=entity_id,
        actor=actor,
    )
    return result.map(AuditEntryOut.model_validate)
