// A prize draw on a consumer page (decisions 0218, 0283): the published odds before, a
// nonce from the page with the claim or submit, and the draw after — a short spin through
// the tiers' names ending on the prize, none with reduced motion. Used by the scan page
// (/s/<code>) and the questionnaire page (/q/<link>); the page has the elements
// offer-prizes, result-reel, result-outcome, result-title, result-fallback, result-log
// and result-verify, and the prize_* texts.

import { $, fmt, formatPoints, setText, show, texts } from "./app.js";

// The published odds, as the prize table states them.
export function showPrizeTiers(tiers) {
  const list = $("offer-prizes");
  list.replaceChildren(
    ...(tiers || []).map((tier) => {
      const item = document.createElement("li");
      item.textContent = fmt(texts.prize_odds, {
        name: tier.name,
        points: formatPoints(tier.points),
        chance: `${(tier.chance * 100).toFixed(tier.chance < 0.01 ? 3 : 1)}%`,
      });
      return item;
    }),
  );
  show("offer-prizes", Boolean(tiers));
}

// Fresh randomness from the page for each draw: the server cannot choose it.
export function drawNonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

// A short spin through the tiers' names ending on the prize; skipped with reduced motion.
export function showDraw(prize, tiers, done) {
  const reel = $("result-reel");
  const names = (tiers || []).map((tier) => tier.name);
  if (reducedMotion() || names.length < 2) {
    reel.textContent = prize.tierName;
    done();
    return;
  }
  let step = 0;
  const steps = 12;
  const timer = setInterval(() => {
    step += 1;
    reel.textContent = step < steps ? names[step % names.length] : prize.tierName;
    if (step >= steps) {
      clearInterval(timer);
      done();
    }
  }, 90);
}

// What the draw gave, where it sits in the public log, and the link to check it.
export function showPrizeResult(prize) {
  $("result-title").textContent = prize.points
    ? fmt(texts.prize_won, { tier: prize.tierName, points: formatPoints(prize.points) })
    : texts.prize_none;
  // The guarantee is the one thing that moves a draw up the table (decision 0280).
  const why = prize.guaranteed ? texts.prize_guaranteed : texts.prize_fallback;
  setText("result-fallback", prize.drawn !== prize.tier ? why : "");
  setText("result-log", fmt(texts.prize_log, { seq: prize.seq, hash: prize.entryHash.slice(0, 12) }));
  $("result-verify").href = prize.verifyUrl;
  show("result-verify");
}

// The result card with a draw: spun once for a fresh draw, shown at once for a replay.
export function revealDraw(prize, tiers, replayed, reveal) {
  showPrizeResult(prize);
  if (!replayed) {
    show("result-outcome", false);
    showDraw(prize, tiers, reveal);
  } else {
    $("result-reel").textContent = prize.tierName;
    reveal();
  }
}
