#include "sim/sweep/process_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace systole {

namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  std::size_t task = 0;
  std::string out;
  std::string err;
  Clock::time_point start;
};

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

Child Spawn(const std::string& binary, const std::vector<std::string>& task_args,
            std::size_t task) {
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> args = task_args;
  args.insert(args.begin(), binary);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // A child never outlives its parent (kill -9 of the parent kills the children too).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  Child c;
  c.pid = pid;
  c.out_fd = out[0];
  c.err_fd = err[0];
  c.task = task;
  c.start = Clock::now();
  return c;
}

}  // namespace

void RunProcessPool(const std::string& binary, const std::vector<std::vector<std::string>>& tasks,
                    unsigned jobs, const std::function<void(const ChildResult&)>& on_done) {
  // A child closing its pipe early must not kill the pool.
  signal(SIGPIPE, SIG_IGN);
  jobs = std::max(1u, jobs);
  std::vector<Child> running;
  std::size_t next = 0;
  while (next < tasks.size() || !running.empty()) {
    while (next < tasks.size() && running.size() < jobs) {
      running.push_back(Spawn(binary, tasks[next], next));
      ++next;
    }
    std::vector<pollfd> fds;
    std::vector<std::pair<std::size_t, bool>> owner;  // (child, is stdout)
    for (std::size_t i = 0; i < running.size(); ++i) {
      if (running[i].out_fd >= 0) {
        fds.push_back({running[i].out_fd, POLLIN, 0});
        owner.emplace_back(i, true);
      }
      if (running[i].err_fd >= 0) {
        fds.push_back({running[i].err_fd, POLLIN, 0});
        owner.emplace_back(i, false);
      }
    }
    if (!fds.empty()) {
      const int ready = poll(fds.data(), fds.size(), 1000);
      if (ready < 0 && errno != EINTR) {
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      }
      for (std::size_t f = 0; ready > 0 && f < fds.size(); ++f) {
        if (fds[f].revents == 0) continue;
        Child& c = running[owner[f].first];
        int& fd = owner[f].second ? c.out_fd : c.err_fd;
        char buf[65536];
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
          (owner[f].second ? c.out : c.err).append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          CloseFd(fd);
        }
      }
    }
    for (auto it = running.begin(); it != running.end();) {
      if (it->out_fd >= 0 || it->err_fd >= 0) {
        ++it;
        continue;
      }
      int status = 0;
      while (waitpid(it->pid, &status, 0) < 0 && errno == EINTR) {
      }
      ChildResult r;
      r.task = it->task;
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      r.out = std::move(it->out);
      r.err = std::move(it->err);
      r.wall_s = std::chrono::duration<double>(Clock::now() - it->start).count();
      it = running.erase(it);
      on_done(r);
    }
  }
}

std::string SelfBinary() {
  std::error_code ec;
  const std::string path = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) throw std::runtime_error("cannot find the systole binary: " + ec.message());
  return path;
}

std::string LastErrorLine(const std::string& err) {
  std::string text = err;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::size_t nl = text.rfind('\n');
  std::string line = nl == std::string::npos ? text : text.substr(nl + 1);
  for (const char* prefix : {"systole: error: ", "systole: internal error: "}) {
    if (line.rfind(prefix, 0) == 0) line = line.substr(std::strlen(prefix));
  }
  return line;
}

}  // namespace systole
