-- accounts_session_ok: whether an access token's session may act, asked by the statement
-- that acts (accounts/tokens.gated, decision 0343).
--
-- A request of the consumer API whose session this process has not checked lately would
-- read it in a statement of its own before acting (accounts/tokens.check). A statement
-- gated by this function asks it first, in the same round trip, and does nothing when it
-- is false. It is narrower than the full check on purpose: a live session (not revoked,
-- not expired), of an active consumer (User.is_consumer: a phone, or no email), who has
-- a phone when the caller needs one (p_phone: the redeem, for goods that are delivered,
-- redemption/addresses.ensure_reachable). Anything else is refused here and takes the
-- full way, which answers it exactly as before; so this function may refuse more than
-- the full check, never less (tests/test_session_gate.py sweeps both, for each caller).
--
-- STABLE, and given only the statement's arguments: PostgreSQL evaluates it once, before
-- the function it guards (a one-time filter), whatever the plan.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.accounts_session_ok(
    p_session bigint,
    p_user bigint,
    p_now timestamptz,
    p_phone boolean
) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.accounts_authsession s
          JOIN public.accounts_user u ON u.id = s.user_id
         WHERE s.id = p_session
           AND s.user_id = p_user
           AND s.revoked_at IS NULL
           AND s.expires_at > p_now
           AND u.is_active
           AND (u.phone <> '' OR (NOT p_phone AND coalesce(u.email, '') = ''))
    )
$$;
