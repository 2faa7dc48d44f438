-- campaigns_submit_prize: the submit of a questionnaire that pays a prize table, with its
-- draw, in one round trip (campaigns/questionnaires/services.py, decision 0283).
--
-- The page sends the nonce only for a questionnaire whose form showed the odds; a submit
-- with a nonce comes here, one without goes to campaigns_submit_response, which finds no
-- bucket of its own for a prize questionnaire (its reserve is one account,
-- 'survey-prize:<questionnaire>') and answers 'slow', where Python refuses the missing
-- nonce. Steps 1-3 are campaigns_submit_response's (same outcomes, same order), plus
-- 'points' for a questionnaire without a prize table (Python then calls that function);
-- then:
--   3b. the lock order (decision 0318, campaigns_claim_prize.sql's): the campaign's row,
--      the draw log's head, the tiers, the reserve, the wallet. The first read locks the
--      campaign's row and the questionnaire's FOR KEY SHARE, in that order (the order of
--      OF): a submit waits there for an end in progress (set_status, or the last draw's
--      close) and reads what it wrote ('exhausted' or 'campaign', nothing written);
--   4. the wallet, and the prize reserve (one account: the draws take turns on the head);
--   5. the draw (campaigns_prize_draw.sql), limited to the questionnaire's rewarded
--      responses: the draw beyond it answers 'exhausted' and writes nothing;
--   6. the award posted from the reserve to the wallet when the tier pays points (a
--      coupon tier's price redeemed at once), by campaigns_prize_pay.sql, the prize
--      claim's payout too; its key already posted: raised as response_once's violation
--      (the draw rolls back with it);
--   7. the response (no ledger transaction for "thank you"); a concurrent one of the same
--      consumer violates response_once and rolls the whole statement back.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_submit_prize(
    p_merchant bigint,
    p_campaign bigint,
    p_consumer bigint,
    p_key text,
    p_version bigint,
    p_answers jsonb,
    p_now timestamptz,
    p_nonce text,
    p_consent text,
    OUT outcome text,
    OUT campaign_name text,
    OUT campaign_status text,
    OUT starts_at timestamptz,
    OUT ends_at timestamptz,
    OUT questionnaire_id bigint,
    OUT max_rewarded integer,
    OUT version_id bigint,
    OUT version_number integer,
    OUT questions text,
    OUT points integer,
    OUT response_id bigint,
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
    v_exhausted timestamptz;
    v_previous bigint;
    v_table bigint;
    v_reserve bigint;
    v_wallet bigint;
    v_key text;
    v_replayed boolean;
    v_coupon bigint;
BEGIN
    SELECT m.schema_name, m.status, m.points_expiry_days
      INTO v_schema, v_status, v_expiry_days
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
    PERFORM set_config('search_path', quote_ident(v_schema) || ', public', true);

    SELECT c.name, c.status, c.starts_at, c.ends_at, q.id, q.max_rewarded_responses,
           q.exhausted_at, v.id, v.number, r.id, t.id
      INTO campaign_name, campaign_status, starts_at, ends_at, questionnaire_id,
           max_rewarded, v_exhausted, version_id, version_number, v_previous, v_table
      FROM campaigns_campaign c
      JOIN campaigns_questionnaire q ON q.campaign_id = c.id
      JOIN campaigns_questionnaireversion v ON v.id = q.current_version_id
      LEFT JOIN campaigns_response r ON r.campaign_id = c.id AND r.consumer_id = p_consumer
      LEFT JOIN campaigns_prizetable t ON t.campaign_id = c.id
     WHERE c.id = p_campaign AND c.kind = 'questionnaire'
       FOR KEY SHARE OF c, q;
    IF NOT FOUND THEN
        outcome := 'unknown';
    ELSIF v_table IS NULL THEN
        outcome := 'points';  -- fixed points: campaigns_submit_response's to submit
    ELSIF v_previous IS NOT NULL THEN
        outcome := 'responded';
    ELSIF v_status <> 'active' THEN
        outcome := 'merchant';
    ELSIF v_exhausted IS NOT NULL THEN
        outcome := 'exhausted';
    ELSIF NOT public.campaigns_claimable(campaign_status, starts_at, ends_at, p_now) THEN
        outcome := 'campaign';
    ELSIF p_version IS DISTINCT FROM version_id THEN
        outcome := 'version';
        SELECT v.questions::text INTO questions
          FROM campaigns_questionnaireversion v WHERE v.id = version_id;
    END IF;
    IF outcome IS NOT NULL THEN
        PERFORM set_config('search_path', v_path, true);
        RETURN;
    END IF;

    -- 4. The wallet and the reserve, before the head's turn.
    v_wallet := public.points_wallet(p_consumer, p_now);
    SELECT a.id INTO v_reserve FROM public.points_account a
     WHERE a.kind = 'campaign_reserve' AND a.merchant_id = p_merchant
       AND a.consumer_id IS NULL AND a.ref = 'survey-prize:' || questionnaire_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'questionnaire % has no prize reserve', questionnaire_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'account_balance_not_negative';
    END IF;

    -- 5. The draw, one per rewarded response.
    SELECT d.seq, d.drawn, d.awarded, d.points, d.tier_name, d.entry_hash, d.coupon
      INTO seq, drawn, awarded, points, tier_name, entry_hash, v_coupon
      FROM public.campaigns_prize_draw(
          v_table, p_consumer, p_nonce, 'q:' || p_campaign || ':' || p_consumer, p_now,
          max_rewarded) d;
    IF seq IS NULL THEN
        outcome := 'exhausted';
        PERFORM set_config('search_path', v_path, true);
        RETURN;
    END IF;

    -- 6. The award, and a coupon prize's redeem (campaigns_prize_pay.sql).
    v_key := 'survey:' || v_schema || ':' || p_campaign || ':' || p_consumer;
    SELECT y.txn_id, y.balance, y.replayed INTO txn_id, balance, v_replayed
      FROM public.campaigns_prize_pay(
          p_merchant, p_consumer, v_reserve, v_wallet, points, v_coupon, v_key,
          'award:' || v_key || ':' || v_reserve || ':' || points,
          campaign_name, tier_name,
          jsonb_build_object('campaign', p_campaign, 'prize', awarded, 'draw', seq),
          'prize:' || p_merchant || ':q:' || p_campaign || ':' || p_consumer,
          p_campaign, awarded, seq, p_now, v_expiry_days) y;
    IF v_replayed THEN
        -- The same consumer's concurrent submit was paid: the statement rolls back,
        -- its draw with it, and Python answers from the first response.
        RAISE EXCEPTION 'response of % to % already paid', p_consumer, p_campaign
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'response_once';
    END IF;

    -- 7. The response.
    INSERT INTO campaigns_response
        (campaign_id, version_id, consumer_id, answers, points, transaction_id, idempotency_key,
         submitted_at)
    VALUES (p_campaign, version_id, p_consumer, p_answers, points, txn_id, p_key, p_now)
    RETURNING id INTO response_id;
    outcome := 'submitted';
    PERFORM set_config('search_path', v_path, true);
END
$$;
