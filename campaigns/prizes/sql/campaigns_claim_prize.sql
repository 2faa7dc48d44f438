-- campaigns_claim_prize: the claim of a code whose batch pays a prize table, with its
-- draw, in one round trip (campaigns/prizes/claims.py; decisions 0212-0214).
--
-- A claim that carries the nonce of the consumer's page (the page knows a prize code from
-- its preview) comes here first; a code whose batch pays fixed points answers 'points'
-- before anything is written (Python then calls campaigns_claim_code). A claim without
-- a nonce goes to campaigns_claim_code, which answers 'prize' for a prize code. Steps 1-5
-- are campaigns_claim_code's (same outcomes, same order); then steps 6-9, the draw, in
-- campaigns_prize_draw (campaigns_prize_draw.sql, shared with a prize questionnaire's
-- submit, decision 0283):
-- Lock order (decision 0318; the campaign's end, campaigns.services.set_status, takes
-- the same): the campaign's row, the draw log's head, the tiers, the reserve, the wallet.
-- Step 3 reads the campaign FOR KEY SHARE (the lock the claim's insert would take at the
-- end anyway, for its foreign key): a claim waits there for an end in progress and then
-- reads the campaign ended ('campaign', nothing written), and an end waits there for the
-- claims in flight, so neither holds the head while waiting for the other's row.
--   6. the draw log's head (the campaign's campaigns_prizetable row) is locked: every
--      draw of the campaign takes its turn here, so the log's order is the order in
--      which capped tiers were consumed, and the claim's sequence number is the head's
--      count + 1. It is taken after everything that does not depend on the draw;
--   7. the draw: HMAC-SHA256(seed, 'draw|<seq>|<nonce>|<i>') for i = 0, 1, ...; the top
--      k bits of each block's first four bytes (k = bits of total weight - 1) are kept
--      when below the total weight, else the next block is tried (rejection sampling:
--      never a modulo, so every ticket is equally likely); the ticket falls in the tier
--      whose cumulative weight first exceeds it;
--   8. the published fallback rule: a capped tier with no unit left gives way to the
--      next tier below it (higher position) that has one; the last tier ("thank you")
--      has no cap, so every draw ends somewhere. A capped tier's unit is taken with a
--      conditional UPDATE (won < cap);
--   8b. the first-scan guarantee (decision 0280), in a table that has it: the consumer's
--      tag (SHA-256 of the table's secret player key and the consumer id, 16 bytes hex)
--      is logged with every draw; a draw that is the tag's first entry in the log and was
--      awarded a tier paying nothing is awarded the lowest paying tier instead (it has no
--      cap), and its entry says why ('first-scan'). Under the head's lock, so two first
--      scans of one consumer cannot both be first;
--   9. the log entry, its hash over 'v1|prev|seq|period|nonce|drawn|awarded|points'
--      (with the guarantee: 'v2|...|points|player|guarantee'), and the head moved to it;
--  10. the award posted from the batch's prize reserve (one account, bucket 0: the draws
--      already take turns on the head) to the wallet when the tier pays points; an empty
--      reserve (the batch voided meanwhile) raises check_violation and rolls it all back;
--  10b. a tier that pays a mall coupon (decision 0281): the award above pays its price,
--      redeemed at once for one free coupon of the product (the batch took it out of
--      the pool's stock when it was created): a 'redeem' posting wallet -> mall, a
--      completed order, the coupon given to it (campaigns_prize_coupon.sql);
--      10-10b are campaigns_prize_pay.sql, shared with a prize questionnaire's submit;
--  11. the claim row (no ledger transaction for "thank you").
-- campaigns/prizes/draw.py is the same arithmetic in Python, for the verifier.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_claim_prize(
    p_merchant bigint,
    p_code text,
    p_consumer bigint,
    p_key text,
    p_now timestamptz,
    p_nonce text,
    p_consent text,
    OUT outcome text,
    OUT merchant_name text,
    OUT campaign_id bigint,
    OUT campaign_name text,
    OUT campaign_status text,
    OUT starts_at timestamptz,
    OUT ends_at timestamptz,
    OUT batch_id bigint,
    OUT points integer,
    OUT claim_id bigint,
    OUT txn_id bigint,
    OUT balance bigint,
    OUT tier_name text,
    OUT drawn integer,
    OUT awarded integer,
    OUT seq bigint,
    OUT entry_hash text
) LANGUAGE plpgsql AS $$
DECLARE
    v_schema text;
    v_status text;
    v_expiry_days integer;
    v_path text := current_setting('search_path');
    v_claimed_by bigint;
    v_batch_status text;
    v_max_total integer;
    v_max_day integer;
    v_table bigint;
    v_prize boolean;
    v_reserve bigint;
    v_wallet bigint;
    v_replayed boolean;
    v_coupon bigint;
BEGIN
    SELECT m.schema_name, m.status, m.points_expiry_days, m.name
      INTO v_schema, v_status, v_expiry_days, merchant_name
      FROM public.tenants_merchant m
     WHERE m.id = p_merchant AND m.provisioned_at IS NOT NULL;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN;
    END IF;
    -- The consumer's consent to share with the merchant (PIPL art. 23, decision 0333),
    -- before any other check, as when Python checked it first; the merchant's own row is
    -- all that was read.
    IF NOT public.privacy_consented(p_consumer, p_merchant, p_consent) THEN
        outcome := 'consent';
        RETURN;
    END IF;
    IF v_status <> 'active' THEN
        outcome := 'merchant';
        RETURN;
    END IF;
    PERFORM set_config('search_path', quote_ident(v_schema) || ', public', true);

    SELECT c.claimed_by_id, b.id, b.status, p.id, p.name, p.status, p.starts_at, p.ends_at,
           p.max_claims_per_consumer, p.max_claims_per_day, t.id, b.prize_reserve IS NOT NULL
      INTO v_claimed_by, batch_id, v_batch_status, campaign_id, campaign_name,
           campaign_status, starts_at, ends_at, v_max_total, v_max_day, v_table, v_prize
      FROM campaigns_code c
      JOIN campaigns_codebatch b ON b.id = c.batch_id
      JOIN campaigns_campaign p ON p.id = b.campaign_id
      LEFT JOIN campaigns_prizetable t ON t.campaign_id = p.id AND t.seed_id IS NOT NULL
     WHERE c.code = p_code
       FOR KEY SHARE OF p;
    IF NOT FOUND THEN
        outcome := 'unknown';
    ELSIF NOT v_prize THEN
        outcome := 'points';  -- a fixed-points code: campaigns_claim_code's to claim
    ELSIF v_claimed_by IS NOT NULL THEN
        outcome := 'taken';
    ELSIF NOT public.campaigns_claimable(campaign_status, starts_at, ends_at, p_now) THEN
        outcome := 'campaign';
    ELSIF v_batch_status IN ('voided', 'failed') OR v_table IS NULL THEN
        outcome := 'voided';
    END IF;
    IF outcome IS NULL THEN
        outcome := public.campaigns_claim_limit(
            v_schema, campaign_id, p_consumer, p_now, v_max_total, v_max_day);
    END IF;
    IF outcome IS NULL THEN
        UPDATE campaigns_code c SET claimed_by_id = p_consumer, claimed_at = p_now
         WHERE c.code = p_code AND c.claimed_at IS NULL;
        IF NOT FOUND THEN
            outcome := 'taken';
        END IF;
    END IF;
    IF outcome IS NOT NULL THEN
        PERFORM set_config('search_path', v_path, true);
        RETURN;
    END IF;

    SELECT a.id INTO v_reserve FROM public.points_account a
     WHERE a.kind = 'campaign_reserve' AND a.merchant_id = p_merchant
       AND a.consumer_id IS NULL AND a.ref = 'batch:' || batch_id || ':0';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % has no prize reserve', batch_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'account_balance_not_negative';
    END IF;
    v_wallet := public.points_wallet(p_consumer, p_now);

    -- 6.-9. The draw, appended to the log (campaigns_prize_draw.sql).
    SELECT d.seq, d.drawn, d.awarded, d.points, d.tier_name, d.entry_hash, d.coupon
      INTO seq, drawn, awarded, points, tier_name, entry_hash, v_coupon
      FROM public.campaigns_prize_draw(v_table, p_consumer, p_nonce, p_code, p_now, NULL) d;

    -- 10.-10b. The award, and a coupon prize's redeem (campaigns_prize_pay.sql).
    SELECT y.txn_id, y.balance, y.replayed INTO txn_id, balance, v_replayed
      FROM public.campaigns_prize_pay(
          p_merchant, p_consumer, v_reserve, v_wallet, points, v_coupon,
          'claim:' || p_merchant || ':' || p_code,
          'award:' || p_code || ':' || p_consumer || ':' || points,
          campaign_name, tier_name,
          jsonb_build_object('code', p_code, 'campaign', campaign_id, 'batch', batch_id,
                             'prize', awarded, 'draw', seq),
          'prize:' || p_merchant || ':' || p_code,
          campaign_id, awarded, seq, p_now, v_expiry_days) y;
    IF v_replayed THEN
        RAISE EXCEPTION 'claim of % already posted as transaction %', p_code, txn_id;
    END IF;

    -- 11. The claim.
    INSERT INTO campaigns_claim
        (code_id, campaign_id, batch_id, consumer_id, points, transaction_id, idempotency_key,
         claimed_at)
    VALUES (p_code, campaign_id, batch_id, p_consumer, points, txn_id, p_key, p_now)
    RETURNING id INTO claim_id;
    outcome := 'claimed';
    PERFORM set_config('search_path', v_path, true);
END
$$;
