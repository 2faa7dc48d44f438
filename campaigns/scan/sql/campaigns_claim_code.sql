-- campaigns_claim_code: a scanned code's claim in one round trip (campaigns/scan/claims.py).
--
-- One statement, so in autocommit it is its own transaction: no BEGIN, no COMMIT, no
-- SET search_path from the client. Python keeps what needs no database (the code's
-- shape and check character, the rate limits in Redis) and the wording of every
-- refusal; this function does what must happen together:
--   1. the merchant (public): unknown or not provisioned -> 'unknown'; the consumer's
--      consent to share with it (p_consent, the version privacy.consent asks; NULL: not
--      asked) not on record -> 'consent' (Python records it when the same tap gave it and
--      calls again, or raises MERCHANT_CONSENT_REQUIRED: privacy.consent.participate);
--      not active -> 'merchant' (Python raises Merchant.ensure_can_award's error);
--   2. the search path on the merchant's schema, for this function only (restored
--      before returning; a raised error rolls it back with everything else);
--   3. the code with its batch and campaign: none -> 'unknown'; claimed -> 'taken'
--      (Python answers a replay or ALREADY_CLAIMED); the campaign not claimable ->
--      'campaign' (Python raises Campaign.ensure_claimable's error: the same rule,
--      tests/test_claim_function.py sweeps both); the batch voided or failed -> 'voided';
--      the batch pays a prize table -> 'prize' (Python calls campaigns_claim_prize);
--   4. per-consumer limits, under an advisory lock on (schema, campaign, consumer) so
--      that one person's concurrent claims take turns -> 'campaign_limit', 'daily_limit';
--   5. the code taken with a conditional UPDATE (only one concurrent claim gets the
--      row; losing the race -> 'taken');
--   6. the award posted by points_post (points/sql/points_post.sql) from the batch's
--      reserve bucket (CodeBatch.reserve_ref) to the wallet, opening a lot that expires
--      after the merchant's expiry days; an empty bucket raises check_violation and
--      rolls the claim back (Python: CODE_VOIDED);
--   7. the claim row;
--   8. with p_endpoints (the merchant's live endpoints listening to code.claimed, from
--      webhooks.events' cache), the event's outbox rows: p_event is the envelope Python
--      knows before the claim (id, type, createdAt, data's code, claimedAt, the
--      consumer's consumerRef); this adds what the claim found (points, campaign, batch)
--      and the consumer's masked phone (accounts_mask_phone: a claim whose statement
--      checks the session never reads the user in Python, decision 0345) as
--      webhooks.payloads.code_claimed has them (webhooks/tests/test_webhooks.py compares
--      the two). The event commits exactly when the claim does, in the same statement:
--      no BEGIN, no second INSERT, no COMMIT from the client (decision 0329).
-- Every outcome but 'claimed' is decided before the first write.
-- Lock order (decision 0318, the campaign's end takes the same): the campaign's row, then
-- the reserve bucket, then the wallet. Step 3 reads the campaign FOR KEY SHARE, the lock
-- the claim row's foreign key takes at step 7 anyway, taken first: a claim waits there for
-- an end in progress and reads it ended ('campaign'), and an end waits for the claims in
-- flight, instead of each holding what the other needs (a bucket, the campaign's row).
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_claim_code(
    p_merchant bigint,
    p_code text,
    p_consumer bigint,
    p_key text,
    p_now timestamptz,
    p_buckets integer,
    p_endpoints bigint[],
    p_event jsonb,
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
    OUT balance bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_schema text;
    v_status text;
    v_expiry_days integer;
    v_path text := current_setting('search_path');
    v_serial integer;
    v_claimed_by bigint;
    v_batch_status text;
    v_prize boolean;
    v_max_total integer;
    v_max_day integer;
    v_reserve bigint;
    v_wallet bigint;
    v_post record;
    v_masked_phone text;
BEGIN
    SELECT m.schema_name, m.status, m.points_expiry_days, m.name
      INTO v_schema, v_status, v_expiry_days, merchant_name
      FROM public.tenants_merchant m
     WHERE m.id = p_merchant AND m.provisioned_at IS NOT NULL;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN;
    END IF;
    -- The consumer's consent to share with the merchant (PIPL art. 23, privacy/consent.py):
    -- a live row of the version asked (p_consent; NULL: not asked), read here rather than
    -- before the call (decision 0333). None -> 'consent', before any other check, as when
    -- Python checked it first; the merchant's own row is all that was read.
    -- public.privacy_consented written out: the hottest path does not pay a function call
    -- for it (decision 0302). Keep the two alike.
    IF p_consent IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM public.privacy_merchantconsent k
         WHERE k.user_id = p_consumer AND k.merchant_id = p_merchant
           AND k.version = p_consent AND k.withdrawn_at IS NULL) THEN
        outcome := 'consent';
        RETURN;
    END IF;
    IF v_status <> 'active' THEN
        outcome := 'merchant';
        RETURN;
    END IF;
    -- The statements below name no schema: they are planned for the merchant's (a
    -- cached plan is re-planned when the search path differs from its own).
    PERFORM set_config('search_path', quote_ident(v_schema) || ', public', true);

    SELECT c.serial, c.claimed_by_id, b.id, b.status, b.points_per_code, p.id, p.name,
           p.status, p.starts_at, p.ends_at, p.max_claims_per_consumer, p.max_claims_per_day,
           b.prize_reserve IS NOT NULL
      INTO v_serial, v_claimed_by, batch_id, v_batch_status, points, campaign_id,
           campaign_name, campaign_status, starts_at, ends_at, v_max_total, v_max_day,
           v_prize
      FROM campaigns_code c
      JOIN campaigns_codebatch b ON b.id = c.batch_id
      JOIN campaigns_campaign p ON p.id = b.campaign_id
     WHERE c.code = p_code
       FOR KEY SHARE OF p;
    IF NOT FOUND THEN
        outcome := 'unknown';
    ELSIF v_claimed_by IS NOT NULL THEN
        outcome := 'taken';
    ELSIF NOT public.campaigns_claimable(campaign_status, starts_at, ends_at, p_now) THEN
        outcome := 'campaign';
    ELSIF v_batch_status IN ('voided', 'failed') THEN
        outcome := 'voided';
    ELSIF v_prize THEN
        outcome := 'prize';
    END IF;
    -- public.campaigns_claim_limit written out: the hottest path does not pay a
    -- function call for it (2-5 us each, measured; decision 0302). Keep the two alike.
    IF outcome IS NULL AND (v_max_total IS NOT NULL OR v_max_day IS NOT NULL) THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(
            'claim-limit:' || v_schema || ':' || campaign_id || ':' || p_consumer, 0));
        IF v_max_total IS NOT NULL AND v_max_total <= (
            SELECT count(*) FROM campaigns_claim k
             WHERE k.campaign_id = campaigns_claim_code.campaign_id
               AND k.consumer_id = p_consumer) THEN
            outcome := 'campaign_limit';
        ELSIF v_max_day IS NOT NULL AND v_max_day <= (
            SELECT count(*) FROM campaigns_claim k
             WHERE k.campaign_id = campaigns_claim_code.campaign_id
               AND k.consumer_id = p_consumer
               AND k.claimed_at > p_now - interval '1 day') THEN
            outcome := 'daily_limit';
        END IF;
    END IF;
    IF outcome IS NULL THEN
        UPDATE campaigns_code c SET claimed_by_id = p_consumer, claimed_at = p_now
         WHERE c.code = p_code AND c.claimed_at IS NULL;
        IF NOT FOUND THEN
            outcome := 'taken';  -- another claim committed between our read and update
        END IF;
    END IF;
    IF outcome IS NOT NULL THEN
        PERFORM set_config('search_path', v_path, true);
        RETURN;
    END IF;

    SELECT a.id INTO v_reserve FROM public.points_account a
     WHERE a.kind = 'campaign_reserve' AND a.merchant_id = p_merchant
       AND a.consumer_id IS NULL AND a.ref = 'batch:' || batch_id || ':' || v_serial % p_buckets;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'batch % has no reserve bucket %', batch_id, v_serial % p_buckets
            USING ERRCODE = 'check_violation', CONSTRAINT = 'account_balance_not_negative';
    END IF;
    -- public.points_wallet written out, as the limits above (decision 0302).
    SELECT a.id INTO v_wallet FROM public.points_account a
     WHERE a.kind = 'consumer_wallet' AND a.merchant_id IS NULL
       AND a.consumer_id = p_consumer AND a.ref = '';
    IF NOT FOUND THEN
        INSERT INTO public.points_account (kind, consumer_id, ref, balance, materialized, created_at)
        VALUES ('consumer_wallet', p_consumer, '', 0, true, p_now)
        ON CONFLICT ON CONSTRAINT account_unique_owner DO NOTHING;
        SELECT a.id INTO v_wallet FROM public.points_account a
         WHERE a.kind = 'consumer_wallet' AND a.merchant_id IS NULL
           AND a.consumer_id = p_consumer AND a.ref = '';
    END IF;
    SELECT * INTO v_post FROM public.points_post(
        'award', 'claim:' || p_merchant || ':' || p_code,
        encode(sha256(convert_to(
            'award:' || p_code || ':' || p_consumer || ':' || points, 'UTF8')), 'hex'),
        p_merchant, p_consumer, NULL, left(campaign_name, 200),
        jsonb_build_object('code', p_code, 'campaign', campaign_id, 'batch', batch_id),
        p_now,
        ARRAY[v_reserve, v_wallet], ARRAY[-points, points]::bigint[], ARRAY[NULL, p_consumer],
        CASE WHEN v_reserve < v_wallet THEN ARRAY[v_reserve, v_wallet]
             ELSE ARRAY[v_wallet, v_reserve] END,
        CASE WHEN v_reserve < v_wallet THEN ARRAY[-points, points]::bigint[]
             ELSE ARRAY[points, -points]::bigint[] END,
        v_wallet, p_consumer, points, p_now + make_interval(days => v_expiry_days),
        NULL, NULL);
    IF v_post.replayed THEN
        -- The code was free a moment ago, so its award cannot exist: the ledger and
        -- the codes disagree. Refuse rather than award twice.
        RAISE EXCEPTION 'claim of % already posted as transaction %', p_code, v_post.txn_id;
    END IF;
    txn_id := v_post.txn_id;
    balance := v_post.balances[CASE WHEN v_reserve < v_wallet THEN 2 ELSE 1 END];
    INSERT INTO campaigns_claim
        (code_id, campaign_id, batch_id, consumer_id, points, transaction_id, idempotency_key,
         claimed_at)
    VALUES (p_code, campaign_id, batch_id, p_consumer, points, txn_id, p_key, p_now)
    RETURNING id INTO claim_id;
    IF p_endpoints IS NOT NULL THEN
        SELECT public.accounts_mask_phone(u.phone) INTO v_masked_phone
          FROM public.accounts_user u WHERE u.id = p_consumer;
        INSERT INTO public.webhooks_webhookdelivery
            (merchant_id, endpoint_id, event_id, event_type, payload, status, attempts,
             next_attempt_at, last_error, created_at)
        -- The ids are the merchant API's global ids (graphql_relay.to_global_id).
        SELECT p_merchant, e, (p_event->>'id')::uuid, p_event->>'type',
               jsonb_set(p_event, '{data}', jsonb_set(
                   p_event->'data', '{consumer,maskedPhone}', to_jsonb(v_masked_phone)
               ) || jsonb_build_object(
                   'points', points,
                   'campaign', jsonb_build_object(
                       'id', translate(encode(convert_to(
                           'Campaign:' || p_merchant || ':' || campaign_id, 'UTF8'), 'base64'), E'\n', ''),
                       'name', campaign_name),
                   'batch', jsonb_build_object(
                       'id', translate(encode(convert_to(
                           'CodeBatch:' || p_merchant || ':' || batch_id, 'UTF8'), 'base64'), E'\n', '')))),
               'pending', 0, p_now, '', p_now
          FROM unnest(p_endpoints) AS e;
    END IF;
    outcome := 'claimed';
    PERFORM set_config('search_path', v_path, true);
END
$$;
