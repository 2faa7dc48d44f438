-- campaigns_claimable: whether a campaign pays now (Campaign.ensure_claimable's rule:
-- active, started, not ended). The SQL functions of the claim, the prize claim and the
-- questionnaire's submit ask it; tests/test_claim_function.py and
-- tests/test_submit_redeem_functions.py sweep it against the Python rule. An SQL function of one
-- expression: the planner inlines it into the caller's expression, so asking it costs
-- what writing the expression out did (decision 0302).
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_claimable(
    p_status text, p_starts timestamptz, p_ends timestamptz, p_now timestamptz
) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status = 'active'
       AND (p_starts IS NULL OR p_now >= p_starts)
       AND (p_ends IS NULL OR p_now < p_ends)
$$;
