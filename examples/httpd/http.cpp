// The request-head parser. It never reads past len, never allocates, and accepts only what RFC
// 9112 allows: a token method, an origin-form target (or "*"), HTTP/1.0 or 1.1, token header
// names, no obsolete line folding, no bare CR or NUL, one Content-Length, Host on HTTP/1.1.
#include "http.h"

#include <cstring>

namespace httpd {

namespace {

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool is_vchar_or_ws(unsigned char c) {
  return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); i++)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Whether the comma-separated list v holds the token t.
bool has_token(std::string_view v, std::string_view t) {
  while (!v.empty()) {
    std::size_t comma = v.find(',');
    if (iequals(trim(v.substr(0, comma)), t)) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

parse_status parse_request(const char* buf, std::size_t len, request* req) {
  std::string_view in(buf, len);
  // RFC 9112 2.2: a server should ignore empty lines before the request line.
  std::size_t start = 0;
  while (start + 1 < in.size() && in[start] == '\r' && in[start + 1] == '\n') start += 2;
  std::size_t end = in.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (in.size() > MAX_HEAD) return parse_status::head_too_large;
    // Nothing in what we have may already be invalid: a NUL or a bare LF is final.
    for (std::size_t i = start; i < in.size(); i++) {
      if (in[i] == '\0') return parse_status::bad;
      if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) return parse_status::bad;
    }
    return parse_status::incomplete;
  }
  if (end + 4 > MAX_HEAD) return parse_status::head_too_large;
  std::string_view head = in.substr(start, end - start + 2);  // lines, each ending in CRLF
  *req = request{};
  req->head_len = end + 4;

  // Request line: method SP target SP HTTP-version.
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return parse_status::bad;
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return parse_status::bad;
  req->method = line.substr(0, sp1);
  req->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : req->method)
    if (!is_tchar(static_cast<unsigned char>(c))) return parse_status::bad;
  for (char c : req->target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return parse_status::bad;
  if (req->target != "*" && req->target[0] != '/') return parse_status::bad;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return parse_status::bad;
  if (version[5] != '1') return parse_status::bad_version;
  req->minor = version[7] - '0';
  std::size_t q = req->target.find('?');
  req->path = req->target.substr(0, q);
  if (q != std::string_view::npos) req->query = req->target.substr(q + 1);

  // Header fields.
  bool host = false, have_length = false, conn_close = false, conn_keep = false;
  std::string_view rest = head.substr(eol + 2);
  while (!rest.empty()) {
    std::size_t e = rest.find("\r\n");
    std::string_view field = rest.substr(0, e);
    rest.remove_prefix(e + 2);
    if (field.empty()) return parse_status::bad;
    if (field[0] == ' ' || field[0] == '\t') return parse_status::bad;  // obs-fold
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return parse_status::bad;
    std::string_view name = field.substr(0, colon);
    for (char c : name)
      if (!is_tchar(static_cast<unsigned char>(c))) return parse_status::bad;
    std::string_view value = field.substr(colon + 1);
    for (char c : value)
      if (!is_vchar_or_ws(static_cast<unsigned char>(c))) return parse_status::bad;
    value = trim(value);
    if (iequals(name, "host")) {
      if (host) return parse_status::bad;
      host = true;
    } else if (iequals(name, "content-length")) {
      if (value.empty() || value.size() > 9) return parse_status::bad;
      std::size_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return parse_status::bad;
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      if (have_length && n != req->content_length) return parse_status::bad;
      have_length = true;
      req->content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      return parse_status::not_impl;
    } else if (iequals(name, "connection")) {
      conn_close |= has_token(value, "close");
      conn_keep |= has_token(value, "keep-alive");
    }
  }
  if (req->minor >= 1 && !host) return parse_status::bad;
  if (req->content_length > MAX_BODY) return parse_status::body_too_large;
  req->keep_alive = req->minor >= 1 ? !conn_close : conn_keep && !conn_close;
  return parse_status::complete;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace httpd
