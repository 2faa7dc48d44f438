-- campaigns_prize_draw: one draw of a prize table, appended to its hash-chained log
-- (decisions 0213, 0214, 0280), for the claim of a prize code (campaigns_claim_prize.sql)
-- and the submit of a prize questionnaire (campaigns_submit_prize.sql, decision 0283).
--
-- Runs on the caller's search path (the merchant's schema), inside the caller's
-- statement, after everything that does not depend on the draw:
--   6. the draw log's head (the table's campaigns_prizetable row) is locked: every draw
--      of the campaign takes its turn here, so the log's order is the order in which
--      capped tiers were consumed, and the draw's sequence number is the head's count
--      + 1. With p_limit (a questionnaire's rewarded responses), a sequence number
--      beyond it answers seq NULL and writes nothing: the count under the head's lock
--      is the cap, exactly;
--   7. the draw: HMAC-SHA256(seed, 'draw|<seq>|<nonce>|<i>') for i = 0, 1, ...; the top
--      k bits of each block's first four bytes (k = bits of total weight - 1) are kept
--      when below the total weight, else the next block is tried (rejection sampling:
--      never a modulo); the ticket falls in the tier whose cumulative weight first
--      exceeds it;
--   8. the published fallback rule: a capped tier with no unit left gives way to the
--      next tier below it that has one (conditional UPDATE, won < cap); the last tier
--      ("thank you") has no cap;
--   8b. the first-scan guarantee (decision 0280), in a table that has it: the player's
--      tag is logged with every draw; a draw that is the tag's first entry and was
--      awarded a tier paying nothing is awarded the lowest paying tier instead;
--   9. the log entry, its hash over 'v1|prev|seq|period|nonce|drawn|awarded|points'
--      (with the guarantee: 'v2|...|points|player|guarantee'), and the head moved to it.
-- p_code names what the draw paid (a code, or 'q:<campaign>:<consumer>'): kept beside the
-- entry, never published. coupon is the awarded tier's mall product (null: points).
-- campaigns/prizes/draw.py is the same arithmetic in Python, for the verifier.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_prize_draw(
    p_table bigint,
    p_consumer bigint,
    p_nonce text,
    p_code text,
    p_now timestamptz,
    p_limit bigint,
    OUT seq bigint,
    OUT drawn integer,
    OUT awarded integer,
    OUT points integer,
    OUT tier_name text,
    OUT entry_hash text,
    OUT coupon bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_head text;
    v_pads bytea;
    v_period integer;
    v_positions integer[];
    v_names text[];
    v_points integer[];
    v_weights bigint[];
    v_caps integer[];
    v_total bigint;
    v_bits integer;
    v_ipad bytea;
    v_opad bytea;
    v_block bytea;
    v_ticket bigint;
    v_i integer;
    v_n integer;
    v_acc bigint;
    v_guarantee boolean;
    v_player_key bytea;
    v_player text := '';
    v_why text := '';
    v_coupons bigint[];
    v_k integer;
BEGIN
    -- 6. The head, locked until commit.
    SELECT t.draws + 1, t.head, s.hmac_pads, s.period, t.first_scan_guarantee, t.player_key
      INTO seq, v_head, v_pads, v_period, v_guarantee, v_player_key
      FROM campaigns_prizetable t JOIN campaigns_prizeseed s ON s.id = t.seed_id
     WHERE t.id = p_table
       FOR UPDATE OF t;
    IF p_limit IS NOT NULL AND seq > p_limit THEN
        seq := NULL;  -- every rewarded draw was made: nothing is written
        RETURN;
    END IF;
    SELECT array_agg(r.position ORDER BY r.position), array_agg(r.name ORDER BY r.position),
           array_agg(r.points ORDER BY r.position), array_agg(r.weight ORDER BY r.position),
           array_agg(r.cap ORDER BY r.position), sum(r.weight),
           array_agg(r.coupon_product_id ORDER BY r.position)
      INTO v_positions, v_names, v_points, v_weights, v_caps, v_total, v_coupons
      FROM campaigns_prizetier r WHERE r.table_id = p_table;
    v_n := array_length(v_positions, 1);

    -- 7. The ticket, by rejection sampling over HMAC-SHA256 blocks.
    v_bits := CASE WHEN v_total <= 1 THEN 0
                   ELSE length(ltrim((v_total - 1)::bit(32)::text, '0')) END;
    -- HMAC's padded keys, made with the seed (campaigns.prizes.draw.hmac_pads).
    v_ipad := substring(v_pads FROM 1 FOR 64);
    v_opad := substring(v_pads FROM 65 FOR 64);
    v_i := 0;
    LOOP
        v_block := sha256(v_opad || sha256(v_ipad || convert_to(
            'draw|' || seq || '|' || p_nonce || '|' || v_i, 'UTF8')));
        v_ticket := ((get_byte(v_block, 0)::bigint << 24) | (get_byte(v_block, 1) << 16)
                     | (get_byte(v_block, 2) << 8) | get_byte(v_block, 3)) >> (32 - v_bits);
        EXIT WHEN v_ticket < v_total;
        v_i := v_i + 1;
        IF v_i >= 256 THEN
            RAISE EXCEPTION 'draw % found no ticket in 256 blocks', seq;
        END IF;
    END LOOP;
    v_acc := 0;
    FOR v_i IN 1..v_n LOOP
        v_acc := v_acc + v_weights[v_i];
        IF v_ticket < v_acc THEN
            drawn := v_positions[v_i];
            EXIT;
        END IF;
    END LOOP;

    -- 8. Caps, by the published fallback rule.
    FOR v_i IN 1..v_n LOOP
        CONTINUE WHEN v_positions[v_i] < drawn;
        IF v_caps[v_i] IS NULL THEN
            awarded := v_positions[v_i];
        ELSE
            UPDATE campaigns_prizetier r SET won = r.won + 1
             WHERE r.table_id = p_table AND r.position = v_positions[v_i] AND r.won < r.cap;
            IF FOUND THEN
                awarded := v_positions[v_i];
            END IF;
        END IF;
        IF awarded IS NOT NULL THEN
            points := v_points[v_i];
            tier_name := v_names[v_i];
            v_k := v_i;
            EXIT;
        END IF;
    END LOOP;
    IF awarded IS NULL THEN
        RAISE EXCEPTION 'prize table % has no tier left for draw %', p_table, seq;
    END IF;

    -- 8b. The first-scan guarantee: the lowest paying tier is the one before the last.
    IF v_guarantee THEN
        v_player := encode(substring(sha256(v_player_key || convert_to(
            'player|' || p_consumer, 'UTF8')) FROM 1 FOR 16), 'hex');
        IF points = 0 AND NOT EXISTS (
            SELECT 1 FROM campaigns_prizedraw d
             WHERE d.table_id = p_table AND d.player = v_player) THEN
            v_k := v_n - 1;
            awarded := v_positions[v_k];
            points := v_points[v_k];
            tier_name := v_names[v_k];
            v_why := 'first-scan';
        END IF;
    END IF;

    -- 9. The log entry and the head.
    entry_hash := encode(sha256(convert_to(
        CASE WHEN v_guarantee THEN 'v2|' ELSE 'v1|' END
        || v_head || '|' || seq || '|' || v_period || '|' || p_nonce || '|' || drawn
        || '|' || awarded || '|' || points
        || CASE WHEN v_guarantee THEN '|' || v_player || '|' || v_why ELSE '' END,
        'UTF8')), 'hex');
    coupon := v_coupons[v_k];
    UPDATE campaigns_prizetable t SET draws = seq, head = entry_hash WHERE t.id = p_table;
    INSERT INTO campaigns_prizedraw
        (table_id, seq, period, nonce, drawn, awarded, points, prev_hash, hash, player,
         guarantee, code, drawn_at)
    VALUES (p_table, seq, v_period, p_nonce, drawn, awarded, points, v_head, entry_hash,
            v_player, v_why, p_code, p_now);
END
$$;
