-- campaigns_prize_coupon: a draw awarded a coupon tier (decision 0281): its price, just
-- paid into the wallet, redeemed at once for one free coupon of the product, as
-- redemption_redeem redeems a coupon (same posting, same order row). The prize's batch or
-- questionnaire took the coupon out of the pool's stock when it was funded. Called by
-- campaigns_prize_pay (the payout of campaigns_claim_prize and campaigns_submit_prize) in
-- their statement; answers the wallet's balance after. p_okey is the order's idempotency key ('prize:<merchant>:<what>').
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_prize_coupon(
    p_consumer bigint,
    p_wallet bigint,
    p_product bigint,
    p_points integer,
    p_okey text,
    p_campaign bigint,
    p_awarded integer,
    p_seq bigint,
    p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_mall bigint;
    v_title text;
    v_supplier bigint;
    v_order bigint;
    v_post record;
    v_balance bigint;
BEGIN
    SELECT p.title, p.supplier_id INTO v_title, v_supplier
      FROM public.redemption_product p WHERE p.id = p_product;
    SELECT a.id INTO v_mall FROM public.points_account a
     WHERE a.kind = 'mall' AND a.merchant_id IS NULL AND a.consumer_id IS NULL
       AND a.ref = '';
    IF NOT FOUND THEN
        INSERT INTO public.points_account (kind, ref, balance, materialized, created_at)
        VALUES ('mall', '', 0, false, p_now)
        ON CONFLICT ON CONSTRAINT account_unique_owner DO NOTHING;
        SELECT a.id INTO v_mall FROM public.points_account a
         WHERE a.kind = 'mall' AND a.merchant_id IS NULL AND a.consumer_id IS NULL
           AND a.ref = '';
    END IF;
    SELECT * INTO v_post FROM public.points_post(
        'redeem', 'redeem:' || p_consumer || ':' || p_okey,
        encode(sha256(convert_to(
            'redeem:redeem:' || p_consumer || ':' || p_okey || ':' || p_product
            || ':1:' || p_points, 'UTF8')), 'hex'),
        NULL, p_consumer, NULL, left(v_title, 200),
        jsonb_build_object('product', p_product, 'quantity', 1,
                           'campaign', p_campaign, 'prize', p_awarded, 'draw', p_seq),
        p_now,
        ARRAY[p_wallet, v_mall], ARRAY[-p_points, p_points]::bigint[], ARRAY[p_consumer, NULL],
        ARRAY[p_wallet], ARRAY[-p_points]::bigint[],
        NULL, NULL, NULL, NULL,
        p_wallet, p_points);
    IF v_post.replayed THEN
        RAISE EXCEPTION 'prize coupon of % already redeemed', p_okey;
    END IF;
    v_balance := v_post.balances[1];
    INSERT INTO public.redemption_order
        (consumer_id, product_id, supplier_id, quantity, unit_points, total_points,
         status, address, transaction_id, idempotency_key, carrier, tracking_number,
         placed_at, completed_at)
    VALUES (p_consumer, p_product, v_supplier, 1, p_points, p_points, 'completed',
            NULL, v_post.txn_id, p_okey, '', '', p_now, p_now)
    RETURNING id INTO v_order;
    UPDATE public.redemption_coupon c SET order_id = v_order
      FROM (SELECT f.id FROM public.redemption_coupon f
             WHERE f.product_id = p_product AND f.order_id IS NULL
             ORDER BY f.id LIMIT 1
               FOR UPDATE SKIP LOCKED) AS free
     WHERE c.id = free.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'coupon pool % has no free coupon for draw %', p_product, p_seq
            USING ERRCODE = 'check_violation', CONSTRAINT = 'product_stock_not_neg';
    END IF;
    RETURN v_balance;
END
$$;
