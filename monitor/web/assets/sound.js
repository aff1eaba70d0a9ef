// Alarm sound for unacknowledged alerts, one pattern per priority (after IEC 60601-1-8:
// high = 10 pulses "3 + 2, 3 + 2", medium = 3 pulses, low = 2 slow pulses).
// Browsers allow audio only after a user gesture, so sound starts off and the
// "Sound on" button turns it on. "Pause audio" silences for a limited time; the
// alerts stay on screen. The server tells which priority is unacknowledged through
// the data-priority attribute of #sound-state (none, low, medium, high).
(function () {
  const PAUSE_MS = 120000;
  const PATTERNS = {
    high: { freq: 880, pulses: [0, 0.25, 0.5, 1.0, 1.25, 2.0, 2.25, 2.5, 3.0, 3.25], every: 8000 },
    medium: { freq: 660, pulses: [0, 0.3, 0.6], every: 15000 },
    low: { freq: 440, pulses: [0, 0.5], every: 30000 },
  };
  const state = { ctx: null, enabled: false, pausedUntil: 0, lastPlayed: 0, lastPriority: "none", played: 0 };
  window.ecmoSound = state;

  function beep(ctx, freq, at) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    osc.type = "square";
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.2);
  }

  function play(priority) {
    const pattern = PATTERNS[priority];
    if (!pattern || !state.ctx) return;
    const now = state.ctx.currentTime;
    pattern.pulses.forEach((offset) => beep(state.ctx, pattern.freq, now + offset));
    state.lastPlayed = Date.now();
    state.played += 1;
  }

  function label() {
    const status = document.getElementById("audio-status");
    if (!status) return;
    const left = state.pausedUntil - Date.now();
    let text;
    if (!state.enabled) text = "sound off";
    else if (left > 0) text = "audio paused " + Math.floor(left / 60000) + ":" + String(Math.floor((left % 60000) / 1000)).padStart(2, "0");
    else text = "sound on";
    status.textContent = text;
    status.dataset.audio = !state.enabled ? "off" : left > 0 ? "paused" : "on";
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.id === "sound-toggle") {
      state.enabled = !state.enabled;
      if (state.enabled && !state.ctx) {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        if (Ctx) state.ctx = new Ctx();
      }
      if (state.ctx && state.ctx.state === "suspended") state.ctx.resume();
      state.lastPriority = "none";
      target.textContent = state.enabled ? "Sound off" : "Sound on";
    } else if (target.id === "audio-pause") {
      state.pausedUntil = Date.now() + PAUSE_MS;
    }
    label();
  });

  setInterval(() => {
    label();
    const holder = document.getElementById("sound-state");
    const priority = holder ? holder.dataset.priority || "none" : "none";
    if (!state.enabled || Date.now() < state.pausedUntil || priority === "none") {
      state.lastPriority = priority;
      return;
    }
    const pattern = PATTERNS[priority];
    const escalated = priority !== state.lastPriority;
    if (escalated || Date.now() - state.lastPlayed >= pattern.every) play(priority);
    state.lastPriority = priority;
  }, 500);
})();
