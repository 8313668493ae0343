// HTTP/1.1 requests as cpustop-httpd reads them: a strict parser of the request head (RFC 9112),
// which refuses anything malformed rather than guess, and the keep-alive rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace httpd {

enum class parse_status {
  complete,        // the whole head is in the buffer (the body follows it)
  incomplete,      // more bytes are needed
  bad,             // malformed: 400 and close
  head_too_large,  // head over MAX_HEAD: 431 and close
  body_too_large,  // Content-Length over MAX_BODY: 413 and close
  not_impl,        // Transfer-Encoding: 501 and close
  bad_version,     // not HTTP/1.x: 505 and close
};

struct request {
  std::string_view method, target, path, query;
  int minor = 1;           // HTTP/1.<minor>
  bool keep_alive = true;  // after the keep-alive rules of the version and Connection
  std::size_t content_length = 0;
  std::size_t head_len = 0;  // bytes up to and including the empty line
};

inline constexpr std::size_t MAX_HEAD = 8192;
inline constexpr std::size_t MAX_BODY = 1 << 20;

// Parses the request head at the start of buf[0..len). Views in *req point into buf.
parse_status parse_request(const char* buf, std::size_t len, request* req);

// The reason phrase of a status code ("OK", "Bad Request", ...).
const char* reason_phrase(int status);

}  // namespace httpd
