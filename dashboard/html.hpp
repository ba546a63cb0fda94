// html.hpp: the building blocks of every page: escaping, the page frame, times for people, and
// the two static assets (style sheet and script) the pages use. Pure.
//
// Everything that did not come from this file's own literals goes through escape(): names,
// commit messages, log lines, reasons. The Content-Security-Policy the server sends allows only
// these same-origin assets, so an escaping mistake still could not run an inline script.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace dashboard {

using Time = std::chrono::system_clock::time_point;

/// Who is looking, for the header and the forms.
struct Viewer {
  std::string user;
  bool can_act = false;  ///< an operator: the action buttons are shown
  std::string csrf;      ///< the session's CSRF token, put into every form
};

/// Escapes & < > " ' for text and attribute values.
std::string escape(std::string_view text);

/// A complete HTML document: header with navigation and the user (when `viewer` has one),
/// `body` (already HTML), the shared style sheet and script.
std::string page(std::string_view title, const Viewer& viewer, std::string_view body);

/// A POST form with one button and the CSRF field; `fields` are extra hidden inputs (name, value).
std::string action_form(
    std::string_view action, std::string_view label, const Viewer& viewer,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

/// "2026-11-23 04:05:06 UTC".
std::string when(Time time);
/// "3m05s ago".
std::string ago(Time time, Time now);
/// "1m12s" for a duration.
std::string span(std::chrono::system_clock::duration duration);
/// The first 12 hex digits of a commit id.
std::string short_sha(std::string_view sha);

/// The static assets, served at /static/style.css and /static/app.js.
std::string_view style_css();
std::string_view app_js();

}  // namespace dashboard
