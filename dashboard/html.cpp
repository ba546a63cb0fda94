// html.cpp: escaping, the page frame and the static assets (html.hpp).
#include "dashboard/html.hpp"

#include <ctime>

#include "deployctl/status_report.hpp"

namespace dashboard {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string page(std::string_view title, const Viewer& viewer, std::string_view body) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      escape(title) +
      " · deploy dashboard</title>"
      "<link rel=\"stylesheet\" href=\"/static/style.css\">"
      "<script src=\"/static/app.js\" defer></script></head><body>"
      "<a class=\"skip\" href=\"#main\">Skip to content</a><header><nav>"
      "<a href=\"/\" class=\"brand\">deploy dashboard</a>";
  if (!viewer.user.empty()) {
    out +=
        "<a href=\"/\">Overview</a><a href=\"/failed\">Failed</a>"
        "<span class=\"who\">" +
        escape(viewer.user) + (viewer.can_act ? " (operator)" : " (viewer)") + "</span>" +
        action_form("/logout", "Log out", viewer);
  }
  out += "</nav></header><main id=\"main\">";
  out += body;
  out += "</main></body></html>\n";
  return out;
}

std::string action_form(
    std::string_view action, std::string_view label, const Viewer& viewer,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string out = "<form method=\"post\" class=\"inline\" action=\"" + escape(action) + "\">";
  out += "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(viewer.csrf) + "\">";
  for (const auto& [name, value] : fields) {
    out += "<input type=\"hidden\" name=\"" + escape(name) + "\" value=\"" + escape(value) + "\">";
  }
  out += "<button type=\"submit\">" + escape(label) + "</button></form>";
  return out;
}

std::string when(Time time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buffer;
}

std::string ago(Time time, Time now) {
  return deployctl::human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - time)) +
         " ago";
}

std::string span(std::chrono::system_clock::duration duration) {
  return deployctl::human_duration(std::chrono::duration_cast<std::chrono::seconds>(duration));
}

std::string short_sha(std::string_view sha) {
  return std::string(sha.substr(0, 12));
}

std::string_view style_css() {
  return R"css(:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;
--ok:#1a7f37;--bad:#cf222e;--run:#9a6700;--link:#0550ae;--code:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#30363d;
--ok:#3fb950;--bad:#f85149;--run:#d29922;--link:#4493f8;--code:#161b22}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}a:focus,button:focus,input:focus{outline:3px solid var(--link);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:4px}
header{border-bottom:1px solid var(--line);padding:8px 16px}nav{display:flex;flex-wrap:wrap;gap:12px;align-items:center}
.brand{font-weight:700;text-decoration:none;color:var(--fg)}.who{margin-left:auto;color:var(--muted)}
main{padding:16px;max-width:1100px;margin:0 auto}h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:1.2em 0 .4em}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px}.card h2{margin-top:0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.succeeded,.ok{color:var(--ok)}.failed,.interrupted,.bad{color:var(--bad)}.running{color:var(--run)}.superseded,.stale,.skipped{color:var(--muted)}
pre{background:var(--code);border:1px solid var(--line);border-radius:6px;padding:8px;overflow-x:auto;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}
pre.log{max-height:70vh;overflow-y:auto}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}code{font-size:.9em}
form.inline{display:inline}button{font:inherit;padding:4px 10px;border-radius:6px;border:1px solid var(--line);background:var(--code);color:var(--fg);cursor:pointer}
.login{max-width:340px;margin:10vh auto}.login label{display:block;margin:.6em 0 .2em}.login input{width:100%;padding:8px;font:inherit}
.login button{margin-top:1em;width:100%;padding:8px}.error{color:var(--bad)}.note{color:var(--muted)}
.pager{display:flex;gap:16px;margin:12px 0}
)css";
}

std::string_view app_js() {
  return R"js('use strict';
// Live follow of a running deploy's log (Server-Sent Events), and a gentle refresh of the
// overview. Text is added with textContent only: nothing from the server becomes HTML.
(function () {
  var log = document.getElementById('log');
  if (log && log.dataset.follow) {
    var status = document.getElementById('follow-status');
    var url = log.dataset.follow + '?from=' + encodeURIComponent(log.dataset.offset || '0');
    var source = new EventSource(url);
    source.onmessage = function (event) {
      var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 30;
      log.appendChild(document.createTextNode(event.data + '\n'));
      if (atBottom) log.scrollTop = log.scrollHeight;
    };
    source.addEventListener('end', function (event) {
      source.close();
      if (status) {
        status.textContent = 'Finished: ' + event.data;
        status.className = event.data;
      }
    });
  }
  var refresh = document.body.querySelector('[data-refresh]');
  if (refresh) {
    setTimeout(function () {
      var active = document.activeElement;
      if (!active || active === document.body) location.reload();
    }, 1000 * Number(refresh.dataset.refresh));
  }
})();
)js";
}

}  // namespace dashboard
