-- redemption_redeem: a mall redeem in one round trip (redemption/services.py, decision 0151).
--
-- One statement, so in autocommit it is its own transaction, as the scan claim's
-- (campaigns/scan/sql/campaigns_claim_code.sql). Python keeps what needs no database
-- (the idempotency key's shape, the quantity's range) and the wording of every
-- refusal; this function does what must happen together, in the order the Python
-- redeem checked it:
--   1. the consumer's earlier order under the key -> 'replay' (order_id: Python answers
--      the first order, or IDEMPOTENCY_CONFLICT for another request under the key);
--   2. the product: missing or not available now -> 'not_available' (Python checks
--      Product.is_available, the same rule: tests/test_redeem_function.py sweeps both);
--      fewer in stock than asked -> 'out_of_stock';
--   3. physical goods: the address, one of the consumer's -> 'no_address' when the
--      given one is not theirs, 'address_required' when none is given;
--   4. a per-consumer limit: under an advisory lock on (consumer, product), so that
--      one person's concurrent redeems of one product take turns, the units bought and
--      not returned -> 'limit';
--   5. the wallet debited into the mall by points_post, from its lots soonest to expire
--      first; too few points raise check_violation (account_balance_not_negative, or
--      lot_remaining_in_range) and roll everything back (Python: INSUFFICIENT_POINTS);
--      the ledger's key already posted -> 'replayed' (the same key's first request
--      committed meanwhile: Python answers its order);
--   6. the order, with the address copied as Address.snapshot copies it;
--   7. coupons: the first free ones, skipping those another redeem holds;
--   8. last, the stock, with a conditional UPDATE, so the product row (the one row
--      every buyer of a flash sale needs) is held only until this statement ends.
--      Too few coupons or too little stock raise check_violation naming
--      product_stock_not_neg and roll everything back (Python: OUT_OF_STOCK).
-- Every outcome but 'redeemed' is decided before the first write.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.redemption_redeem(
    p_consumer bigint,
    p_product bigint,
    p_quantity integer,
    p_address bigint,
    p_key text,
    p_now timestamptz,
    OUT outcome text,
    OUT order_id bigint,
    OUT txn_id bigint,
    OUT balance bigint,
    OUT address text,
    -- The product's columns, in the model's order (redemption.services._PRODUCT).
    OUT id bigint,
    OUT title text,
    OUT description text,
    OUT image_url text,
    OUT category_id bigint,
    OUT kind text,
    OUT points_price integer,
    OUT stock integer,
    OUT per_consumer_limit integer,
    OUT available_from timestamptz,
    OUT available_until timestamptz,
    OUT status text,
    OUT supplier_id bigint,
    OUT created_at timestamptz
) LANGUAGE plpgsql AS $$
DECLARE
    v_address jsonb;
    v_bought bigint;
    v_total bigint;
    v_wallet bigint;
    v_mall bigint;
    v_key text;
    v_post record;
    v_taken integer;
BEGIN
    SELECT o.id INTO order_id FROM public.redemption_order o
     WHERE o.consumer_id = p_consumer AND o.idempotency_key = p_key;
    IF FOUND THEN
        outcome := 'replay';
        RETURN;
    END IF;
    SELECT p.id, p.title, p.description, p.image_url, p.category_id, p.kind, p.points_price,
           p.stock, p.per_consumer_limit, p.available_from, p.available_until, p.status,
           p.supplier_id, p.created_at
      INTO id, title, description, image_url, category_id, kind, points_price, stock,
           per_consumer_limit, available_from, available_until, status, supplier_id,
           created_at
      FROM public.redemption_product p WHERE p.id = p_product;
    IF NOT FOUND OR NOT (status = 'listed'
                         AND (available_from IS NULL OR p_now >= available_from)
                         AND (available_until IS NULL OR p_now < available_until)) THEN
        outcome := 'not_available';
        RETURN;
    END IF;
    IF stock < p_quantity THEN
        outcome := 'out_of_stock';
        RETURN;
    END IF;
    IF kind = 'physical' THEN
        SELECT jsonb_build_object('recipient', a.recipient, 'phone', a.phone,
                                  'region', a.region, 'street', a.street,
                                  'postal_code', a.postal_code)
          INTO v_address
          FROM public.redemption_address a
         WHERE a.id = p_address AND a.consumer_id = p_consumer;
        IF NOT FOUND AND p_address IS NOT NULL THEN
            outcome := 'no_address';  -- not one of the consumer's: simply not found
            RETURN;
        ELSIF NOT FOUND THEN
            outcome := 'address_required';
            RETURN;
        END IF;
    END IF;
    IF per_consumer_limit IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(
            'redeem-limit:' || p_consumer || ':' || p_product, 0));
        -- Counted after the lock is granted: this statement's snapshot sees every
        -- redeem of this consumer and product that committed before.
        SELECT coalesce(sum(o.quantity), 0) INTO v_bought FROM public.redemption_order o
         WHERE o.consumer_id = p_consumer AND o.product_id = p_product
           AND o.status NOT IN ('cancelled', 'refunded');
        IF v_bought + p_quantity > per_consumer_limit THEN
            outcome := 'limit';
            RETURN;
        END IF;
    END IF;

    v_total := p_quantity::bigint * points_price;
    SELECT a.id INTO v_wallet FROM public.points_account a
     WHERE a.kind = 'consumer_wallet' AND a.merchant_id IS NULL
       AND a.consumer_id = p_consumer AND a.ref = '';
    IF NOT FOUND THEN
        -- No wallet, no points: refused as an empty wallet's debit would be.
        RAISE EXCEPTION 'consumer % has no wallet', p_consumer
            USING ERRCODE = 'check_violation', CONSTRAINT = 'account_balance_not_negative';
    END IF;
    SELECT a.id INTO v_mall FROM public.points_account a
     WHERE a.kind = 'mall' AND a.merchant_id IS NULL AND a.consumer_id IS NULL AND a.ref = '';
    IF NOT FOUND THEN
        -- A platform account: its balance is the sum of its entries (not materialised).
        INSERT INTO public.points_account (kind, ref, balance, materialized, created_at)
        VALUES ('mall', '', 0, false, p_now)
        ON CONFLICT ON CONSTRAINT account_unique_owner DO NOTHING;
        SELECT a.id INTO v_mall FROM public.points_account a
         WHERE a.kind = 'mall' AND a.merchant_id IS NULL AND a.consumer_id IS NULL
           AND a.ref = '';
    END IF;
    v_key := 'redeem:' || p_consumer || ':' || p_key;
    SELECT * INTO v_post FROM public.points_post(
        'redeem', v_key,
        encode(sha256(convert_to(
            'redeem:' || v_key || ':' || p_product || ':' || p_quantity || ':' || v_total,
            'UTF8')), 'hex'),
        NULL, p_consumer, NULL, left(title, 200),
        jsonb_build_object('product', p_product, 'quantity', p_quantity),
        p_now,
        ARRAY[v_wallet, v_mall], ARRAY[-v_total, v_total], ARRAY[p_consumer, NULL],
        -- The mall is not materialised: only the wallet's balance moves.
        ARRAY[v_wallet], ARRAY[-v_total],
        NULL, NULL, NULL, NULL,
        v_wallet, v_total);
    IF v_post.replayed THEN
        outcome := 'replayed';
        RETURN;
    END IF;
    txn_id := v_post.txn_id;
    balance := v_post.balances[1];
    INSERT INTO public.redemption_order
        (consumer_id, product_id, supplier_id, quantity, unit_points, total_points, status,
         address, transaction_id, idempotency_key, carrier, tracking_number, placed_at,
         completed_at)
    VALUES (p_consumer, p_product, supplier_id, p_quantity, points_price, v_total,
            CASE WHEN kind = 'coupon' THEN 'completed' ELSE 'placed' END,
            v_address, txn_id, p_key, '', '', p_now,
            CASE WHEN kind = 'coupon' THEN p_now END)
    RETURNING redemption_order.id INTO order_id;
    address := v_address::text;
    IF kind = 'coupon' THEN
        UPDATE public.redemption_coupon c SET order_id = redemption_redeem.order_id
          FROM (SELECT f.id FROM public.redemption_coupon f
                 WHERE f.product_id = p_product AND f.order_id IS NULL
                 ORDER BY f.id LIMIT p_quantity
                   FOR UPDATE SKIP LOCKED) AS free
         WHERE c.id = free.id;
        GET DIAGNOSTICS v_taken = ROW_COUNT;
        IF v_taken < p_quantity THEN
            RAISE EXCEPTION 'product % has no free coupon left', p_product
                USING ERRCODE = 'check_violation', CONSTRAINT = 'product_stock_not_neg';
        END IF;
    END IF;
    UPDATE public.redemption_product p SET stock = p.stock - p_quantity
     WHERE p.id = p_product AND p.stock >= p_quantity;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % is sold out', p_product
            USING ERRCODE = 'check_violation', CONSTRAINT = 'product_stock_not_neg';
    END IF;
    outcome := 'redeemed';
END
$$;
