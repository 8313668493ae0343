// The attach protocol, version 1: how `cpustop attach`, `list` and `enter` talk to a machine over
// its control socket. A request is an argv; a reply is the command's exit status and output, or a
// refusal (nothing ran). Frames are little-endian:
//
//   request  "CPSQ" u16 version u16 type u32 length, then `length` bytes of payload:
//            u32 argc, then argc NUL-terminated strings, which fill the payload exactly (type 1,
//            command), or are followed by one more, the client's working directory, absolute
//            (type 2, command in a directory: relative file names in argv are the client's)
//   reply    "CPSR" u16 version u16 kind(0: ran, 1: refused) i32 status u32 out_len u32 err_len,
//            then out_len bytes of stdout and err_len bytes of stderr
//
// The parsers take untrusted bytes: they never read past the buffer, allocate at most the limits
// below, and decide as soon as a prefix is enough to (so an oversized length is refused before
// its payload arrives). Pure code, no system calls: the fuzz target links it alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cpustop::host {

inline constexpr std::uint16_t PROTOCOL_VERSION = 1;
inline constexpr std::size_t FRAME_HEADER = 12;        // magic, version, type, length
inline constexpr std::size_t REPLY_HEADER = 20;        // magic, version, kind, status, lengths
inline constexpr std::size_t MAX_REQUEST = 64 * 1024;  // payload bytes
inline constexpr std::size_t MAX_ARGS = 256;
inline constexpr std::size_t MAX_REPLY = 256 * 1024 * 1024;  // out + err bytes
inline constexpr std::uint16_t REQUEST_COMMAND = 1;
inline constexpr std::uint16_t REQUEST_COMMAND_IN_DIR = 2;

enum class parse_result {
  ok,          // a whole frame; *consumed says how many bytes it took
  incomplete,  // a valid prefix: wait for more bytes
  bad_magic,
  bad_version,
  bad_type,
  too_large,
  malformed,  // a bad argc, a string without its NUL, bytes left over, an empty argv[0], a
              // working directory that is not absolute
};
// "malformed request", "protocol version 7 not supported (this machine speaks 1)", ...
std::string parse_result_text(parse_result r, std::uint16_t version_seen = 0);

struct request {
  std::vector<std::string> argv;
  std::string cwd;  // "" when the client did not send it (type 1)
};
// Type 2 with cwd (which must then be absolute), else type 1.
std::string encode_request(const std::vector<std::string>& argv, const std::string& cwd = {});
// On anything but ok, *out is unchanged. *version_seen (if given) gets the frame's version once
// the header has it.
parse_result parse_request(std::span<const std::uint8_t> buf, request* out, std::size_t* consumed,
                           std::uint16_t* version_seen = nullptr);

struct reply {
  bool refused = false;  // the request was not run (bad frame, another user, busy)
  int status = 0;        // the command's exit status (2 when refused)
  std::string out, err;
};
std::string encode_reply(const reply& r);
parse_result parse_reply(std::span<const std::uint8_t> buf, reply* out, std::size_t* consumed);

}  // namespace cpustop::host
