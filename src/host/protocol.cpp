// The attach protocol's frames (see protocol.h).
#include "host/protocol.h"

#include <cstring>

namespace cpustop::host {

namespace {

constexpr char REQUEST_MAGIC[4] = {'C', 'P', 'S', 'Q'};
constexpr char REPLY_MAGIC[4] = {'C', 'P', 'S', 'R'};

std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t at) {
  return std::uint32_t{b[at]} | std::uint32_t{b[at + 1]} << 8 | std::uint32_t{b[at + 2]} << 16 |
         std::uint32_t{b[at + 3]} << 24;
}
std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | b[at + 1] << 8);
}
void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; i++) s += static_cast<char>(v >> (8 * i));
}
void put16(std::string& s, std::uint16_t v) {
  s += static_cast<char>(v);
  s += static_cast<char>(v >> 8);
}

// The common header checks, in the order the bytes arrive.
parse_result check_header(std::span<const std::uint8_t> buf, const char (&magic)[4],
                          std::uint16_t* version) {
  if (buf.empty()) return parse_result::incomplete;
  std::size_t have = std::min<std::size_t>(buf.size(), 4);
  if (std::memcmp(buf.data(), magic, have) != 0) return parse_result::bad_magic;
  if (buf.size() < 6) return parse_result::incomplete;
  *version = get16(buf, 4);
  if (*version != PROTOCOL_VERSION) return parse_result::bad_version;
  return parse_result::ok;
}

}  // namespace

std::string parse_result_text(parse_result r, std::uint16_t version_seen) {
  switch (r) {
    case parse_result::ok:
      return "ok";
    case parse_result::incomplete:
      return "truncated request";
    case parse_result::bad_magic:
      return "not a cpustop request";
    case parse_result::bad_version:
      return "protocol version " + std::to_string(version_seen) +
             " not supported (this machine speaks " + std::to_string(PROTOCOL_VERSION) + ")";
    case parse_result::bad_type:
      return "unknown request type";
    case parse_result::too_large:
      return "request too large";
    case parse_result::malformed:
      return "malformed request";
  }
  return "malformed request";
}

std::string encode_request(const std::vector<std::string>& argv, const std::string& cwd) {
  std::string payload;
  put32(payload, static_cast<std::uint32_t>(argv.size()));
  for (const std::string& a : argv) {
    payload += a;
    payload += '\0';
  }
  if (!cwd.empty()) {
    payload += cwd;
    payload += '\0';
  }
  std::string s(REQUEST_MAGIC, 4);
  put16(s, PROTOCOL_VERSION);
  put16(s, cwd.empty() ? REQUEST_COMMAND : REQUEST_COMMAND_IN_DIR);
  put32(s, static_cast<std::uint32_t>(payload.size()));
  return s + payload;
}

parse_result parse_request(std::span<const std::uint8_t> buf, request* out, std::size_t* consumed,
                           std::uint16_t* version_seen) {
  std::uint16_t version = 0;
  parse_result r = check_header(buf, REQUEST_MAGIC, &version);
  if (version_seen && buf.size() >= 6) *version_seen = version;
  if (r != parse_result::ok) return r;
  if (buf.size() < 8) return parse_result::incomplete;
  std::uint16_t type = get16(buf, 6);
  if (type != REQUEST_COMMAND && type != REQUEST_COMMAND_IN_DIR) return parse_result::bad_type;
  if (buf.size() < FRAME_HEADER) return parse_result::incomplete;
  std::uint32_t len = get32(buf, 8);
  if (len > MAX_REQUEST) return parse_result::too_large;
  if (len < 4) return parse_result::malformed;
  if (buf.size() - FRAME_HEADER < len) return parse_result::incomplete;
  std::span<const std::uint8_t> p = buf.subspan(FRAME_HEADER, len);
  std::uint32_t argc = get32(p, 0);
  if (argc == 0 || argc > MAX_ARGS) return parse_result::malformed;
  std::vector<std::string> argv;
  argv.reserve(argc);
  std::size_t at = 4;
  std::uint32_t strings = argc + (type == REQUEST_COMMAND_IN_DIR);
  for (std::uint32_t i = 0; i < strings; i++) {
    const void* nul = at < p.size() ? std::memchr(p.data() + at, 0, p.size() - at) : nullptr;
    if (!nul) return parse_result::malformed;
    std::size_t end = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - p.data());
    argv.emplace_back(reinterpret_cast<const char*>(p.data() + at), end - at);
    at = end + 1;
  }
  std::string cwd;
  if (type == REQUEST_COMMAND_IN_DIR) {
    cwd = std::move(argv.back());
    argv.pop_back();
    if (cwd.empty() || cwd[0] != '/') return parse_result::malformed;
  }
  if (at != p.size() || argv[0].empty()) return parse_result::malformed;
  out->argv = std::move(argv);
  out->cwd = std::move(cwd);
  *consumed = FRAME_HEADER + len;
  return parse_result::ok;
}

std::string encode_reply(const reply& r) {
  std::string s(REPLY_MAGIC, 4);
  put16(s, PROTOCOL_VERSION);
  put16(s, r.refused ? 1 : 0);
  put32(s, static_cast<std::uint32_t>(r.status));
  put32(s, static_cast<std::uint32_t>(r.out.size()));
  put32(s, static_cast<std::uint32_t>(r.err.size()));
  return s + r.out + r.err;
}

parse_result parse_reply(std::span<const std::uint8_t> buf, reply* out, std::size_t* consumed) {
  std::uint16_t version = 0;
  parse_result r = check_header(buf, REPLY_MAGIC, &version);
  if (r != parse_result::ok) return r;
  if (buf.size() < 8) return parse_result::incomplete;
  std::uint16_t kind = get16(buf, 6);
  if (kind > 1) return parse_result::bad_type;
  if (buf.size() < REPLY_HEADER) return parse_result::incomplete;
  std::uint64_t out_len = get32(buf, 12), err_len = get32(buf, 16);
  if (out_len + err_len > MAX_REPLY) return parse_result::too_large;
  if (buf.size() - REPLY_HEADER < out_len + err_len) return parse_result::incomplete;
  const char* p = reinterpret_cast<const char*>(buf.data() + REPLY_HEADER);
  out->refused = kind == 1;
  out->status = static_cast<int>(get32(buf, 8));
  out->out.assign(p, out_len);
  out->err.assign(p + out_len, err_len);
  *consumed = REPLY_HEADER + out_len + err_len;
  return parse_result::ok;
}

}  // namespace cpustop::host
