// watch.cpp: the inotify Watcher (see watch.hpp).
#include "queue-layout/watch.hpp"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <cstring>

#include "queue-layout/errors.hpp"

namespace queue_layout {
namespace {

namespace asio = boost::asio;

// IN_CREATE: a hard link (router fan-out, link_entry) makes no IN_CLOSE_WRITE or IN_MOVED_TO.
// IN_ATTRIB: a touch of a settled hand-dropped file. The *_SELF events: the folder went away.
constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB |
                                IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

// How often to retry while the folder is missing or inotify is unavailable.
constexpr std::chrono::milliseconds kPollInterval{1000};

}  // namespace

EventSummary parse_events(const char* buffer, std::size_t size, int wd) {
  EventSummary summary;
  std::size_t offset = 0;
  while (offset + sizeof(inotify_event) <= size) {
    inotify_event event;  // copied out: the buffer need not be aligned
    std::memcpy(&event, buffer + offset, sizeof event);
    const char* name = buffer + offset + sizeof(inotify_event);
    offset += sizeof(inotify_event) + event.len;
    if (offset > size) break;  // truncated record: the kernel never writes one
    if (event.mask & IN_Q_OVERFLOW) {
      summary.overflow = true;
      continue;
    }
    if (event.wd != wd) continue;  // an old watch's last words (IN_IGNORED after a re-add)
    if (event.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
      summary.watch_gone = true;
      summary.changed = true;
      continue;
    }
    // Publishers create dot-temporaries first: those events wake nobody; the rename that
    // follows (IN_MOVED_TO) does.
    if (event.len == 0 || name[0] != '.') summary.changed = true;
  }
  return summary;
}

Watcher::Watcher(asio::any_io_executor executor, std::filesystem::path dir,
                 std::chrono::milliseconds rescan_every)
    : dir_(std::move(dir)), rescan_every_(rescan_every), inotify_(executor), timer_(executor) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    error_ = last_errno();
    return;
  }
  inotify_.assign(fd);
  add_watch();
  dirty_ = false;  // the caller scans right after construction
}

Watcher::~Watcher() = default;

void Watcher::add_watch() {
  if (!inotify_.is_open()) return;
  if (wd_ >= 0) {
    // The old inode may still exist elsewhere (moved away): stop hearing about it. EINVAL if
    // the kernel already dropped it with a deleted folder: fine.
    ::inotify_rm_watch(inotify_.native_handle(), wd_);
    wd_ = -1;
  }
  const int wd = ::inotify_add_watch(inotify_.native_handle(), dir_.c_str(), kMask);
  if (wd < 0) {
    error_ = last_errno();
    return;
  }
  struct ::stat st {};
  if (::stat(dir_.c_str(), &st) != 0) {
    error_ = last_errno();
    ::inotify_rm_watch(inotify_.native_handle(), wd);
    return;
  }
  wd_ = wd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  error_.clear();
  // Entries may have been published while nothing was watching: the consumer must rescan.
  dirty_ = true;
}

void Watcher::drain() {
  if (!inotify_.is_open()) return;
  // Large enough for many events per read(2); aligned as the kernel's records are.
  alignas(inotify_event) char buffer[16 * 1024];
  bool gone = false;
  for (;;) {
    const ssize_t n = ::read(inotify_.native_handle(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: nothing more queued
    const EventSummary summary = parse_events(buffer, static_cast<std::size_t>(n), wd_);
    dirty_ = dirty_ || summary.changed || summary.overflow;
    gone = gone || summary.watch_gone;
  }
  // The folder was deleted or moved away: watch whatever folder is at the path now (the old
  // watch is dropped). If none is, wait() polls until one is back.
  if (gone) add_watch();
}

void Watcher::check_replaced() {
  if (!inotify_.is_open()) return;
  struct ::stat st {};
  if (::stat(dir_.c_str(), &st) != 0) {
    const std::error_code gone = last_errno();
    if (wd_ >= 0) {
      ::inotify_rm_watch(inotify_.native_handle(), wd_);
      wd_ = -1;
      error_ = gone;
      dirty_ = true;
    }
    return;
  }
  // A folder renamed over ours sends our inode no event we listen to: compare inodes.
  if (wd_ < 0 || st.st_dev != dev_ || st.st_ino != ino_) add_watch();
}

asio::awaitable<void> Watcher::wait() {
  return wait(rescan_every_);
}

asio::awaitable<void> Watcher::wait(std::chrono::milliseconds max) {
  const auto aborted = [] {
    return boost::system::system_error(asio::error::operation_aborted, "queue watcher cancelled");
  };
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + max;
  // Without a watch (folder missing, no inotify) nothing would wake us: return sooner, so the
  // consumer rescans, and the watch is retried at every call.
  const auto poll_deadline = std::min(deadline, start + kPollInterval);
  for (;;) {
    if (cancelled_) throw aborted();
    drain();
    check_replaced();
    if (dirty_) break;
    const auto until = wd_ >= 0 ? deadline : poll_deadline;
    if (std::chrono::steady_clock::now() >= until) break;  // the timeout: rescan anyway
    timer_.expires_at(until);
    if (wd_ >= 0) {
      // Whichever comes first, readable events or the timer; the other is cancelled.
      co_await asio::experimental::make_parallel_group(
          inotify_.async_wait(asio::posix::descriptor_base::wait_read, asio::deferred),
          timer_.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    } else {
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  dirty_ = false;
}

void Watcher::cancel() {
  cancelled_ = true;
  timer_.cancel();
  if (inotify_.is_open()) inotify_.cancel();
}

}  // namespace queue_layout
