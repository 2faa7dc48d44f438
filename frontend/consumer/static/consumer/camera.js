// /scan: read a QR code with the phone's camera, or type the code (the form works
// without JavaScript). The QR reader (jsQR, ~250 kB) is loaded only when the camera
// starts, so no other page pays for it.
//
// Camera access needs a secure context: https, or localhost. On plain http (a phone on
// the LAN) the typed-code form is the way, and the page says so up front.

import { $, config, focusOn, show, texts } from "./app.js";

const state = { stream: null, timer: null, canvas: null };
const CODE_PATH = /\/s\/([0-9A-Za-z-]{4,64})\/?$/;

function status(text) {
  $("camera-status").textContent = text || "";
}

function fallback(text) {
  stop();
  status(text);
  focusOn("typed-code");
}

function loadReader() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = config.reader;
    script.async = true;
    script.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR")));
    script.onerror = () => reject(new Error("jsQR"));
    document.head.append(script);
  });
}

/** Where a scanned text leads: our /s/<code> page, or null when it is not ours. */
export function targetOf(text) {
  const value = String(text || "").trim();
  try {
    const url = new URL(value);
    const match = CODE_PATH.exec(url.pathname);
    return match ? `${config.scanPrefix}${match[1]}` : null;
  } catch {
    // Not a URL: a code printed as text.
    return /^[0-9A-Za-z-]{8,64}$/.test(value) ? `${config.scanPrefix}${value}` : null;
  }
}

function stop() {
  window.clearTimeout(state.timer);
  state.timer = null;
  for (const track of state.stream?.getTracks() || []) track.stop();
  state.stream = null;
  $("video").srcObject = null;
  show("viewer", false);
  show("start-camera");
}

function scanLoop(jsQR) {
  const video = $("video");
  const canvas = state.canvas || (state.canvas = document.createElement("canvas"));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let lastMiss = "";
  const tick = () => {
    if (!state.stream) return;
    if (video.readyState >= video.HAVE_ENOUGH_DATA && video.videoWidth) {
      // Decode a downscaled frame: fast enough on a cheap phone, and QR codes survive it.
      const scale = Math.min(1, 480 / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (found?.data) {
        const target = targetOf(found.data);
        if (target) {
          status(texts.found);
          stop();
          window.location.assign(target);
          return;
        }
        if (found.data !== lastMiss) {
          lastMiss = found.data;
          status(texts.not_ours);
        }
      }
    }
    state.timer = window.setTimeout(tick, 150);
  };
  tick();
}

async function startCamera() {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    fallback(texts.insecure);
    return;
  }
  status(texts.starting);
  let jsQR;
  try {
    [jsQR, state.stream] = await Promise.all([
      loadReader(),
      navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } },
      }),
    ]);
  } catch (error) {
    const name = error?.name;
    if (name === "NotAllowedError" || name === "SecurityError") fallback(texts.denied);
    else if (name === "NotFoundError" || name === "OverconstrainedError") fallback(texts.no_camera);
    else fallback(texts.failed);
    return;
  }
  const video = $("video");
  video.srcObject = state.stream;
  show("viewer");
  show("start-camera", false);
  try {
    await video.play();
  } catch {
    fallback(texts.failed);
    return;
  }
  status(texts.scanning);
  focusOn("stop-camera");
  scanLoop(jsQR);
}

if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
  // Say it before the visitor tries: on plain http the camera cannot work.
  $("start-camera").disabled = true;
  status(texts.insecure);
}
$("start-camera").addEventListener("click", startCamera);
$("stop-camera").addEventListener("click", () => {
  stop();
  status("");
  focusOn("start-camera");
});
window.addEventListener("pagehide", stop);
