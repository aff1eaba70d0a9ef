// The QA seek slider's tooltip: a replay position (POSIX seconds) as a UTC clock time.
window.dccFunctions = window.dccFunctions || {};
window.dccFunctions.clockTime = function (seconds) {
    return new Date(seconds * 1000).toISOString().slice(11, 19);
};
