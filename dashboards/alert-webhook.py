# The compose stacks' webhook receiver: Alertmanager posts each notification here, and this prints
# one line per alert (`docker compose logs alert-webhook`), so that a late job's alert is seen
# delivered from the first `docker compose up`. Replace it in alertmanager.yml with a real
# receiver (a chat bridge, ntfy, an incident tool). Python's standard library only.
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            alerts = json.loads(body).get("alerts", [])
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        for alert in alerts:
            labels = alert.get("labels", {})
            what = " ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
            summary = alert.get("annotations", {}).get("summary", "")
            print(f"{alert.get('status', '?').upper()} {labels.get('alertname', '?')} {what}: {summary}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


# alert-webhook.py [PORT [HOST]]: 9000 on every address by default; port 0 takes a free one.
port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
host = sys.argv[2] if len(sys.argv) > 2 else "0.0.0.0"
server = HTTPServer((host, port), Receiver)
print(f"alert-webhook: listening on port {server.server_address[1]}", flush=True)
server.serve_forever()
