// The machine as the outside sees it: the attach protocol's frames, the runtime directory and its
// life, the control socket (commands, refusals that change nothing, many clients at once, other
// users turned away), and the cpustop tool's list and attach.
#include <sys/socket.h>
#include <sys/un.h>

#include <memory>
#include <regex>
#include <set>
#include <thread>

#include "host/client.h"
#include "host/protocol.h"
#include "host/runtime_dir.h"
#include "host_util.h"
#include "test_util.h"

namespace cpustop::test {
namespace {

using host::parse_result;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

parse_result parse(const std::string& s, host::request* r = nullptr, std::size_t* used = nullptr) {
  host::request tmp;
  std::size_t u = 0;
  return host::parse_request(bytes(s), r ? r : &tmp, used ? used : &u);
}

// A request frame with any payload.
std::string frame(const std::string& payload, std::uint16_t version = 1, std::uint16_t type = 1) {
  std::string s = "CPSQ";
  s += static_cast<char>(version);
  s += static_cast<char>(version >> 8);
  s += static_cast<char>(type);
  s += static_cast<char>(type >> 8);
  std::uint32_t n = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; i++) s += static_cast<char>(n >> (8 * i));
  return s + payload;
}

std::string le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; i++) s += static_cast<char>(v >> (8 * i));
  return s;
}

TEST(protocol, requests_round_trip_and_every_prefix_is_incomplete) {
  for (const std::vector<std::string>& argv : {std::vector<std::string>{"ps"},
                                               {"taskset", "-p", "-c", "1", "42"},
                                               {"echo", ""},
                                               {"cat", std::string(4000, 'x')}}) {
    std::string f = host::encode_request(argv);
    host::request r;
    std::size_t used = 0;
    ASSERT_EQ(parse(f, &r, &used), parse_result::ok);
    EXPECT_EQ(r.argv, argv);
    EXPECT_EQ(used, f.size());
    for (std::size_t n = 0; n < f.size(); n++)
      EXPECT_EQ(parse(f.substr(0, n)), parse_result::incomplete) << n;
    // Two frames back to back: the first is taken alone.
    ASSERT_EQ(parse(f + f, &r, &used), parse_result::ok);
    EXPECT_EQ(used, f.size());
  }
}

// Type 2 carries the client's working directory after the argv: absolute, or the frame is bad.
TEST(protocol, a_command_in_a_directory_carries_it_and_only_an_absolute_one) {
  std::string f = host::encode_request({"trace", "report", "t.dat"}, "/tmp/x y");
  host::request r;
  std::size_t used = 0;
  ASSERT_EQ(parse(f, &r, &used), parse_result::ok);
  EXPECT_EQ(r.argv, (std::vector<std::string>{"trace", "report", "t.dat"}));
  EXPECT_EQ(r.cwd, "/tmp/x y");
  EXPECT_EQ(used, f.size());
  for (std::size_t n = 0; n < f.size(); n++)
    EXPECT_EQ(parse(f.substr(0, n)), parse_result::incomplete) << n;
  ASSERT_EQ(parse(host::encode_request({"ps"}), &r), parse_result::ok);
  EXPECT_EQ(r.cwd, "") << "type 1: no directory";
  EXPECT_EQ(parse(frame(le32(1) + std::string("ps\0", 3), 1, 2)), parse_result::malformed);
  EXPECT_EQ(parse(frame(le32(1) + std::string("ps\0tmp\0", 7), 1, 2)), parse_result::malformed);
  EXPECT_EQ(parse(frame(le32(1) + std::string("ps\0\0", 4), 1, 2)), parse_result::malformed);
  EXPECT_EQ(parse(frame(le32(1) + std::string("ps\0/\0x", 6), 1, 2)), parse_result::malformed);
}

TEST(protocol, bad_frames_are_named_as_soon_as_their_bytes_show_it) {
  EXPECT_EQ(parse("X"), parse_result::bad_magic);
  EXPECT_EQ(parse("CPSR"), parse_result::bad_magic);
  EXPECT_EQ(parse(frame(le32(1) + "ps", 2).substr(0, 6)), parse_result::bad_version);
  std::uint16_t seen = 0;
  host::request r;
  std::size_t used;
  std::string v7 = frame(le32(1) + "ps\0", 7);
  EXPECT_EQ(host::parse_request(bytes(v7), &r, &used, &seen), parse_result::bad_version);
  EXPECT_EQ(seen, 7);
  EXPECT_NE(host::parse_result_text(parse_result::bad_version, seen).find("version 7"),
            std::string::npos);
  EXPECT_EQ(parse(frame(le32(1) + std::string("ps\0", 3), 1, 3)), parse_result::bad_type);
  // An oversized length is refused from the header alone.
  std::string big = frame("").substr(0, 8) + le32(host::MAX_REQUEST + 1);
  EXPECT_EQ(parse(big), parse_result::too_large);
  EXPECT_EQ(parse(frame("")), parse_result::malformed);       // no argc
  EXPECT_EQ(parse(frame(le32(0))), parse_result::malformed);  // argc 0
  EXPECT_EQ(parse(frame(le32(host::MAX_ARGS + 1) + std::string(300, '\0'))),
            parse_result::malformed);
  EXPECT_EQ(parse(frame(le32(1) + "ps")), parse_result::malformed);                     // no NUL
  EXPECT_EQ(parse(frame(le32(1) + std::string("ps\0x", 4))), parse_result::malformed);  // left over
  EXPECT_EQ(parse(frame(le32(2) + std::string("ps\0", 3))),
            parse_result::malformed);  // argc > strings
  EXPECT_EQ(parse(frame(le32(1) + std::string("\0", 1))),
            parse_result::malformed);  // empty argv[0]
}

TEST(protocol, replies_round_trip) {
  host::reply r{false, 3, "out\n", std::string("err\0x", 5)};
  std::string f = host::encode_reply(r);
  host::reply back;
  std::size_t used = 0;
  ASSERT_EQ(host::parse_reply(bytes(f), &back, &used), parse_result::ok);
  EXPECT_EQ(used, f.size());
  EXPECT_EQ(back.status, 3);
  EXPECT_EQ(back.out, r.out);
  EXPECT_EQ(back.err, r.err);
  EXPECT_FALSE(back.refused);
  for (std::size_t n = 0; n < f.size(); n++)
    EXPECT_EQ(host::parse_reply(bytes(f.substr(0, n)), &back, &used), parse_result::incomplete);
}

// ---- A booted machine, seen through its socket
// ---------------------------------------------------

class attach : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("CPUSTOP_ATTACH");
    boot_params p;
    p.nr_cpus = 4;
    ASSERT_EQ(boot(p), 0);
    dir_ = host::runtime_dir_find(::getpid());
    ASSERT_FALSE(dir_.empty()) << dmesg();
  }
  void TearDown() override {
    check_nothing_left(4);
    EXPECT_EQ(shutdown(), 0);
  }
  host::reply call(const std::vector<std::string>& argv) {
    host::client c;
    std::string why;
    host::reply r;
    EXPECT_EQ(c.connect(::getpid(), &why), 0) << why;
    EXPECT_EQ(c.call(argv, &r, &why), 0) << why;
    return r;
  }
  host::reply call_raw(const std::string& bytes) {
    host::client c;
    std::string why;
    host::reply r;
    EXPECT_EQ(c.connect(::getpid(), &why), 0) << why;
    EXPECT_EQ(c.call_raw(bytes, &r, &why), 0) << why;
    return r;
  }
  std::size_t nr_tasks() { return task_list().size(); }
  bool has_task(const std::string& comm) {
    for (const task_info& t : task_list())
      if (t.comm == comm) return true;
    return false;
  }
  std::string dir_;
};

TEST_F(attach, the_runtime_directory_is_private_and_goes_at_shutdown) {
  struct stat st;
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(st.st_uid, geteuid());
  ASSERT_EQ(lstat((dir_ + "/ctl").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string info = slurp(dir_ + "/info");
  EXPECT_NE(info.find("pid " + std::to_string(::getpid()) + "\n"), std::string::npos) << info;
  EXPECT_NE(info.find("start_time " + std::to_string(host::process_start_time(::getpid())) + "\n"),
            std::string::npos);
  EXPECT_NE(info.find("program host_test\n"), std::string::npos) << info;
  EXPECT_EQ(shutdown(), 0);
  EXPECT_NE(stat(dir_.c_str(), &st), 0) << "left behind at shutdown";
  boot_params p;
  p.nr_cpus = 4;
  ASSERT_EQ(boot(p), 0);
}

TEST_F(attach, commands_run_as_the_shell_runs_them) {
  host::reply r = call({"ps"});
  EXPECT_FALSE(r.refused);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("[migration/0]"), std::string::npos) << r.out;
  r = call({"frobnicate"});
  EXPECT_FALSE(r.refused);
  EXPECT_EQ(r.status, 127);
  EXPECT_EQ(r.err, "cpustop: frobnicate: command not found\n");
  r = call({"cat", "/proc/1/stat"});
  EXPECT_EQ(r.out, proc_pid_stat(1));
  r = call({"info"});
  EXPECT_NE(r.out.find("cpus_possible 4\n"), std::string::npos) << r.out;
  // One client spawns, another kills: the machine's shells share what they started.
  r = call({"spawn", "load", "--nice", "3"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string pid = r.out.substr(0, r.out.size() - 1);
  r = call({"renice", "-n", "5", "-p", pid});
  EXPECT_EQ(r.out, pid + " (process ID) old priority 3, new priority 5\n") << r.err;
  r = call({"top", "-d", "0.05"});
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n +" + pid + " load +TS +25 +5 "))) << r.out;
  EXPECT_NE(r.out.find("%Cpu0  :"), std::string::npos) << r.out;
  r = call({"livepatch"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(call({"kill", pid}).status, 0);
  EXPECT_FALSE(has_task("load"));
}

TEST_F(attach, bad_requests_are_refused_and_change_nothing) {
  std::size_t before = nr_tasks();
  std::string spawn = host::encode_request({"spawn", "intruder"});
  struct bad {
    std::string bytes, why;
  } cases[] = {
      {"GET / HTTP/1.0\r\n\r\n", "not a cpustop request"},
      {frame(le32(2) + std::string("spawn\0intruder", 14)), "malformed request"},
      {frame(le32(2) + std::string("spawn\0intruder\0", 15), 9),
       "protocol version 9 not supported"},
      {frame(le32(2) + std::string("spawn\0intruder\0", 15), 1, 5), "unknown request type"},
      {frame("").substr(0, 8) + le32(1 << 30), "request too large"},
  };
  for (std::size_t i = 0; i < std::size(cases); i++) {
    host::reply r = call_raw(cases[i].bytes);
    EXPECT_TRUE(r.refused) << i;
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(cases[i].why), std::string::npos) << r.err;
    EXPECT_FALSE(has_task("intruder")) << i;
  }
  EXPECT_EQ(nr_tasks(), before);
  // A truncated request (the client stops sending) is refused when the connection ends.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/ctl", dir_.c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string half = spawn.substr(0, spawn.size() - 3);
  ASSERT_EQ(write(fd, half.data(), half.size()), static_cast<ssize_t>(half.size()));
  ::shutdown(fd, SHUT_WR);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  close(fd);
  host::reply r;
  std::size_t used;
  ASSERT_EQ(host::parse_reply(bytes(got), &r, &used), parse_result::ok);
  EXPECT_TRUE(r.refused);
  EXPECT_NE(r.err.find("truncated request"), std::string::npos);
  EXPECT_FALSE(has_task("intruder"));
  EXPECT_EQ(nr_tasks(), before);
}

TEST_F(attach, many_clients_at_once) {
  constexpr int clients = 16, requests = 10;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; i++)
    threads.emplace_back([&] {
      host::client c;
      std::string why;
      if (c.connect(::getpid(), &why) != 0) return;
      for (int j = 0; j < requests; j++) {
        host::reply r;
        if (c.call({"cat", "/proc/1/status"}, &r, &why) == 0 && r.status == 0 &&
            r.out.rfind("Name:\tinit\n", 0) == 0)
          good++;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), clients * requests);
}

TEST_F(attach, shutdown_ends_a_sleeping_command) {
  std::thread sleeper([] {
    host::client c;
    std::string why;
    host::reply r;
    ASSERT_EQ(c.connect(::getpid(), &why), 0);
    c.call({"sleep", "100000000"}, &r, &why);
    EXPECT_EQ(r.status, 130);
  });
  // Wait until the command runs as a task, then halt: the sleep returns and shutdown completes.
  auto sleeping = [] {
    for (const task_info& t : task_list())
      if (t.comm == "sleep" && t.state != 'R') return true;
    return false;
  };
  while (!sleeping()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(shutdown(), 0);
  sleeper.join();
  boot_params p;
  p.nr_cpus = 4;
  ASSERT_EQ(boot(p), 0);
}

// Clients run at once: while one records around its command, another's recording is refused.
TEST_F(attach, one_recording_at_a_time_among_clients) {
  char tmp[] = "/tmp/cpustop-attach-rec-XXXXXX";
  ASSERT_NE(mkdtemp(tmp), nullptr);
  std::string file = std::string(tmp) + "/long.dat";
  std::thread recorder([&] {
    host::client c;
    std::string why;
    host::reply r;
    ASSERT_EQ(c.connect(::getpid(), &why), 0);
    c.call({"trace", "record", "-e", "sched:*", "-o", file, "sleep", "100000000"}, &r, &why);
    EXPECT_EQ(r.status, 130) << r.err;  // the sleep ended by the shutdown
    EXPECT_NE(r.out.find(file + ": "), std::string::npos) << r.out;
  });
  auto sleeping = [] {
    for (const task_info& t : task_list())
      if (t.comm == "sleep" && t.state != 'R') return true;
    return false;
  };
  while (!sleeping()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  host::reply r = call({"trace", "record", "-o", std::string(tmp) + "/other.dat", "ps"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "trace record: already recording to " + file + "\n");
  EXPECT_EQ(r.out, "");
  r = call({"trace", "stop"});
  EXPECT_EQ(r.err, "trace stop: not recording\n") << "a recording around a command ends with it";
  EXPECT_EQ(shutdown(), 0);
  recorder.join();
  struct stat st;
  EXPECT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  EXPECT_NE(stat((std::string(tmp) + "/other.dat").c_str(), &st), 0);
  unlink(file.c_str());
  rmdir(tmp);
  boot_params p;
  p.nr_cpus = 4;
  ASSERT_EQ(boot(p), 0);
}

TEST_F(attach, stale_entries_are_cleaned_by_the_next_scan) {
  std::string base = host::runtime_base(geteuid());
  // A dead pid, and a live one that started at another time (its pid was reused).
  for (std::string pid : {"4194303", "1"}) {
    std::string d = base + "/" + pid;
    ASSERT_TRUE(mkdir(d.c_str(), 0700) == 0 || errno == EEXIST) << d;
    std::ofstream(d + "/info") << "pid " << pid << "\nstart_time 12345678\nprogram crashed\n";
  }
  // Other machines of this user may run meanwhile: ours is there, the stale ones are not.
  std::set<pid_t> live;
  for (const host::machine_entry& e : host::runtime_dir_scan(geteuid())) live.insert(e.pid);
  EXPECT_EQ(live.count(::getpid()), 1u);
  EXPECT_EQ(live.count(4194303), 0u);
  EXPECT_EQ(live.count(1), 0u);
  struct stat st;
  EXPECT_NE(stat((base + "/4194303").c_str(), &st), 0);
  EXPECT_NE(stat((base + "/1").c_str(), &st), 0);
  cmd_result list = run_cmd({tool(), "list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_TRUE(std::regex_search(
      list.out, std::regex("\n +" + std::to_string(::getpid()) + " host_test .* 4/4 ")))
      << list.out;
}

TEST_F(attach, the_tool_attaches_with_exit_status_and_output) {
  std::string pid = std::to_string(::getpid());
  cmd_result r = run_cmd({tool(), "attach", pid, "cat", "/sys/devices/system/cpu/online"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0-3\n");
  r = run_cmd({tool(), "attach", pid, "echo 2 > /sys/devices/system/cpu/cpu3/online"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "cpustop: write error: Invalid argument\n");
  r = run_cmd({tool(), "attach", pid,
               "echo 0 > /sys/devices/system/cpu/cpu3/online; cat "
               "/sys/devices/system/cpu/online"});
  EXPECT_EQ(r.out, "0-2\n") << r.err;
  EXPECT_FALSE(cpu_online(3));
  EXPECT_EQ(cpu_up(3), 0);
  r = run_cmd({tool(), "attach", "4194303", "ps"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no cpustop machine with pid 4194303"), std::string::npos) << r.err;
}

// A command's task forked by the server thread names that thread (cpustop/attach and its host
// thread id, on the CPU after the machine's), never `<...>--1 [-01]`; trace record's and trace
// report's relative files are the client's, as the real trace-cmd reads them; a client that does
// not send its directory gets relative names refused, and nothing recorded.
TEST_F(attach, the_commands_fork_names_the_server_thread_and_relative_files_are_the_clients) {
  if (!have_program("trace-cmd")) GTEST_SKIP() << "needs trace-cmd";
  char tmp[] = "/tmp/cpustop-attach-trace-XXXXXX";
  ASSERT_NE(mkdtemp(tmp), nullptr);
  std::string dir = tmp, pid = std::to_string(::getpid());
  auto in_dir = [&](const std::string& cmd) {
    return run_cmd({"sh", "-c", "cd " + dir + " && " + tool() + " attach " + pid + " " + cmd});
  };
  cmd_result r = in_dir("trace record -e sched:* -o rel.dat spawn hog");
  ASSERT_EQ(r.status, 0) << r.err;
  std::string hog = r.out.substr(0, r.out.find('\n'));
  EXPECT_NE(r.out.find(dir + "/rel.dat: "), std::string::npos) << r.out;
  cmd_result report = run_cmd({"trace-cmd", "report", dir + "/rel.dat"});
  ASSERT_EQ(report.status, 0) << report.err;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(report.out, m,
                        std::regex(" cpustop/attach-([0-9]+) +\\[004\\] .*sched_process_fork: "
                                   "+comm=cpustop/attach pid=([0-9]+) child_comm=spawn "
                                   "child_pid=([0-9]+)")))
      << report.out;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_GT(std::stoi(m[1]), 0);
  EXPECT_NE(std::stoi(m[1]), ::getpid()) << "a thread of its own, not the program's main thread";
  std::string spawn_pid = m[3];
  EXPECT_TRUE(std::regex_search(
      report.out, std::regex(" cpustop/attach-" + std::string(m[1]) +
                             " +\\[004\\] .*sched_wakeup_new: +spawn:" + spawn_pid + " ")))
      << report.out;
  EXPECT_TRUE(std::regex_search(report.out,
                                std::regex(" spawn-" + spawn_pid +
                                           " +\\[00[0-3]\\] .*sched_process_fork: "
                                           "+comm=spawn pid=" +
                                           spawn_pid + " child_comm=hog child_pid=" + hog + "\n")))
      << report.out;
  EXPECT_EQ(report.out.find("<...>"), std::string::npos) << report.out;
  EXPECT_EQ(report.out.find("[-01]"), std::string::npos) << report.out;
  r = in_dir("trace report rel.dat");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("child_comm=hog child_pid=" + hog), std::string::npos) << r.out;
  EXPECT_EQ(call({"kill", hog}).status, 0);

  // Without the client's directory (a type 1 request), a relative name is refused up front.
  host::reply no_dir = call_raw(host::encode_request({"trace", "record", "-o", "rel2.dat", "ps"}));
  EXPECT_EQ(no_dir.status, 1);
  EXPECT_EQ(no_dir.err,
            "trace record: rel2.dat: a relative file name, and the client did not say its working "
            "directory: give an absolute path\n");
  EXPECT_EQ(no_dir.out, "") << "the command did not run";
  no_dir = call_raw(host::encode_request({"trace", "report"}));
  EXPECT_EQ(no_dir.status, 1);
  EXPECT_NE(no_dir.err.find("trace report: trace.dat: a relative file name"), std::string::npos);
  for (const std::string& e : trace_event_names()) EXPECT_FALSE(trace_event_enabled(e)) << e;
  struct stat st;
  EXPECT_NE(stat("rel2.dat", &st), 0) << "written to the server's directory";
  // An output that cannot be written fails before the command runs.
  r = in_dir("trace record -o nodir/x.dat spawn intruder");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "trace: cannot write " + dir + "/nodir/x.dat: No such file or directory\n");
  EXPECT_FALSE(has_task("intruder"));
  unlink((dir + "/rel.dat").c_str());
  rmdir(dir.c_str());
}

// Another user is turned away at the socket: by the directory's mode, and by SO_PEERCRED when
// the directory lets them reach it.
TEST_F(attach, another_user_is_refused_and_nothing_runs) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to run a client as nobody)";
  if (!have_program("setpriv")) GTEST_SKIP() << "needs setpriv (util-linux)";
  std::string pid = std::to_string(::getpid());
  std::vector<std::string> as_nobody = {
      "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", tool(), "attach",
      pid,       "spawn",          "intruder"};
  cmd_result r = run_cmd(as_nobody);
  if (r.status == 126 || r.status == 127) GTEST_SKIP() << "nobody cannot run " << tool();
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(has_task("intruder"));
  chmod(dir_.c_str(), 0755);
  chmod((dir_ + "/ctl").c_str(), 0666);
  chmod(host::runtime_base(0).c_str(), 0755);
  r = run_cmd(as_nobody);
  chmod(host::runtime_base(0).c_str(), 0700);
  chmod((dir_ + "/ctl").c_str(), 0600);
  chmod(dir_.c_str(), 0700);
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("refused the request: permission denied"), std::string::npos) << r.err;
  EXPECT_FALSE(has_task("intruder"));
}

TEST(attach_off, neither_the_option_nor_the_environment_leaves_a_directory) {
  boot_params p;
  p.nr_cpus = 2;
  p.attach = false;
  ASSERT_EQ(boot(p), 0);
  EXPECT_EQ(host::runtime_dir_find(::getpid()), "");
  EXPECT_EQ(shutdown(), 0);
  setenv("CPUSTOP_ATTACH", "0", 1);
  p.attach = true;
  ASSERT_EQ(boot(p), 0);
  EXPECT_EQ(host::runtime_dir_find(::getpid()), "");
  EXPECT_EQ(shutdown(), 0);
  unsetenv("CPUSTOP_ATTACH");
}

// `cpustop attach` starts fast because the program loads no shared C++ runtime and none of its
// libraries but libc, libm and libudev (tools/cpustop/CMakeLists.txt): a library target that
// brings a shared one back would put the dynamic loader's 2 ms back on every attach.
TEST(tool, loads_no_shared_cxx_runtime_nor_its_libraries) {
  if (!CPUSTOP_TOOL_IS_STATIC) GTEST_SKIP() << "the program is linked to shared libraries here";
  cmd_result r = run_cmd({"env", "LD_TRACE_LOADED_OBJECTS=1", tool()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("libc.so.6"), std::string::npos) << r.out;
  for (const char* lib : {"libstdc++", "libgcc_s", "libfmt", "libboost", "libhwloc", "libfuse3",
                          "libseccomp", "liburing"})
    EXPECT_EQ(r.out.find(lib), std::string::npos) << lib << " in\n" << r.out;
}

// The example server runs until interrupted; meanwhile the tool finds it and attaches to it.
TEST(livepatch_server, stays_up_until_interrupted_and_is_attachable) {
  char out[] = "/tmp/cpustop-lp-XXXXXX";
  int fd = mkstemp(out);
  ASSERT_GE(fd, 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  const char* argv[] = {CPUSTOP_LIVEPATCH_SERVER, "--cpus", "2", nullptr};
  pid_t server;
  ASSERT_EQ(posix_spawn(&server, argv[0], &fa, nullptr, const_cast<char**>(argv), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  // Whatever fails below, the server does not outlive the test.
  std::unique_ptr<pid_t, void (*)(pid_t*)> reap(&server, [](pid_t* p) {
    if (*p > 0 && ::kill(*p, SIGKILL) == 0) waitpid(*p, nullptr, 0);
  });
  std::string pid = std::to_string(server);
  // Found once it has booted (its runtime directory is there before it prints).
  while (slurp(out).find("until interrupted") == std::string::npos) {
    ASSERT_NE(waitpid(server, nullptr, WNOHANG), server) << "it exited: " << slurp(out);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  cmd_result list = run_cmd({tool(), "list"});
  EXPECT_TRUE(std::regex_search(list.out, std::regex("\n +" + pid + " livepatch_serve .* 2/2 ")))
      << list.out;
  cmd_result r = run_cmd({tool(), "attach", pid, "livepatch"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Enabled patches:\n", 0), 0u) << r.out;
  r = run_cmd({tool(), "attach", pid, "ps", "-e"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(" server"), std::string::npos) << r.out;
  std::string dir = host::runtime_dir_find(server);
  EXPECT_NE(dir, "");
  ASSERT_EQ(::kill(server, SIGINT), 0);
  int st = 0;
  ASSERT_EQ(waitpid(server, &st, 0), server);
  server = 0;  // reaped
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << " " << slurp(out);
  EXPECT_NE(slurp(out).find(", 0 failed, 0 mixed"), std::string::npos) << slurp(out);
  struct stat sb;
  EXPECT_NE(stat(dir.c_str(), &sb), 0) << dir << " left behind";
  unlink(out);
}

}  // namespace
}  // namespace cpustop::test
