-- campaigns_prize_pay: a draw's payout, for the claim of a prize code
-- (campaigns_claim_prize.sql, steps 10-10b) and the submit of a prize questionnaire
-- (campaigns_submit_prize.sql, step 6), in their statement, after the draw (decision 0319):
--   - a tier that pays points: the award posted by points_post from the prize reserve
--     (one account: the draws already take turns on the head) to the wallet, opening a
--     lot that expires after the merchant's expiry days, memo '<campaign> · <tier>' (the
--     wallet's history). An empty reserve (voided, released) raises check_violation and
--     rolls the caller's statement back. A key already posted answers replayed and pays
--     nothing more: each caller raises its own error for it;
--   - a tier that pays a mall coupon (decision 0281): the award above pays its price,
--     then campaigns_prize_coupon.sql redeems it at once for one of the pool's coupons;
--   - "thank you" (0 points): no ledger transaction, the wallet's balance read.
-- p_key and p_request are the award's idempotency key and the text whose SHA-256 is its
-- request hash; p_coupon_key the coupon order's key. Answers the transaction (null for
-- "thank you") and the wallet's balance after.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_prize_pay(
    p_merchant bigint,
    p_consumer bigint,
    p_reserve bigint,
    p_wallet bigint,
    p_points integer,
    p_coupon bigint,
    p_key text,
    p_request text,
    p_campaign_name text,
    p_tier_name text,
    p_metadata jsonb,
    p_coupon_key text,
    p_campaign bigint,
    p_awarded integer,
    p_seq bigint,
    p_now timestamptz,
    p_expiry_days integer,
    OUT txn_id bigint,
    OUT balance bigint,
    OUT replayed boolean
) LANGUAGE plpgsql AS $$
DECLARE
    v_post record;
BEGIN
    replayed := false;
    IF p_points > 0 THEN
        SELECT * INTO v_post FROM public.points_post(
            'award', p_key, encode(sha256(convert_to(p_request, 'UTF8')), 'hex'),
            p_merchant, p_consumer, NULL, left(p_campaign_name || ' · ' || p_tier_name, 200),
            p_metadata, p_now,
            ARRAY[p_reserve, p_wallet], ARRAY[-p_points, p_points]::bigint[],
            ARRAY[NULL, p_consumer],
            CASE WHEN p_reserve < p_wallet THEN ARRAY[p_reserve, p_wallet]
                 ELSE ARRAY[p_wallet, p_reserve] END,
            CASE WHEN p_reserve < p_wallet THEN ARRAY[-p_points, p_points]::bigint[]
                 ELSE ARRAY[p_points, -p_points]::bigint[] END,
            p_wallet, p_consumer, p_points, p_now + make_interval(days => p_expiry_days),
            NULL, NULL);
        txn_id := v_post.txn_id;
        IF v_post.replayed THEN
            replayed := true;
            RETURN;
        END IF;
        balance := v_post.balances[CASE WHEN p_reserve < p_wallet THEN 2 ELSE 1 END];
        -- A coupon prize: its price redeemed at once for one of the pool's coupons.
        IF p_coupon IS NOT NULL THEN
            -- A SELECT, not an assignment: tests/test_distribution.py reads the statements.
            SELECT public.campaigns_prize_coupon(
                p_consumer, p_wallet, p_coupon, p_points, p_coupon_key, p_campaign, p_awarded,
                p_seq, p_now)
              INTO balance;
        END IF;
    ELSE
        -- The consumer's id pins the wallet's distribution key (tests/test_distribution.py).
        SELECT a.balance INTO balance FROM public.points_account a
         WHERE a.id = p_wallet AND a.consumer_id = p_consumer;
    END IF;
END
$$;
