// A small reconnecting WebSocket for the cohort features: exponential backoff with jitter,
// a heartbeat ping every 25 s (keeps presence fresh), closed on pagehide. onStatus(state, reconnected).
export function openSocket(path, { onMessage, onStatus = () => {} }) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  let socket = null;
  let attempt = 0;
  let heartbeat = null;
  let stopped = false;
  let opened = false;

  function connect() {
    socket = new WebSocket(scheme + location.host + path);
    socket.addEventListener("open", () => {
      attempt = 0;
      onStatus("open", opened);  // second argument: a reconnect (events may have been missed)
      opened = true;
      heartbeat = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('{"type":"ping"}'), 25000);
    });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      onMessage(data);
    });
    socket.addEventListener("close", () => {
      clearInterval(heartbeat);
      if (stopped) return;
      onStatus("closed");
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    });
  }

  window.addEventListener("pagehide", () => { stopped = true; socket && socket.close(); });
  connect();
}
