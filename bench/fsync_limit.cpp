// fsync_limit.cpp: the disk's limit for durable publishes, the ceiling a durable receiver works
// against.
//
//   fsync_limit THREADS SECONDS DIR [BYTES]
//
// Each of THREADS threads repeats what queue_layout::publish does for one entry, into the one
// shared folder DIR (as the receiver does into inbox/): create a dot-temporary with O_EXCL, write
// BYTES (default 8192), fsync it, close, rename it to a canonical name, fsync the folder. Prints
// one line: "fsync_limit threads=N publishes=M per_s=R". DIR must be fresh and empty (ext4 is slow
// right after mass deletions); the files are left there for the caller to remove later.
//
// Built by bench/run.sh with g++ -O2 directly: it needs nothing from the project.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::perror(what.c_str());
  std::exit(1);
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) die("write " + path);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: fsync_limit THREADS SECONDS DIR [BYTES]\n");
    return 2;
  }
  const int threads = std::atoi(argv[1]);
  const double seconds = std::atof(argv[2]);
  const std::string dir = argv[3];
  const std::size_t size = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 8192;
  const std::string bytes(size, 'x');

  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) die("open " + dir);

  std::atomic<long> total{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      long n = 0;
      while (std::chrono::steady_clock::now() < deadline) {
        const std::string name = std::to_string(t) + "-" + std::to_string(n);
        const std::string tmp = dir + "/." + name + ".tmp";
        const std::string final_name = dir + "/" + name + ".json";
        int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) die("open " + tmp);
        write_all(fd, bytes, tmp);
        // The data must be on disk before the name appears, or a crash shows an empty entry.
        if (::fsync(fd) != 0) die("fsync " + tmp);
        if (::close(fd) != 0) die("close " + tmp);
        // RENAME_NOREPLACE as in publish(): never replace an existing entry.
        if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_name.c_str(), RENAME_NOREPLACE) != 0)
          die("rename " + tmp);
        // The rename itself is only durable once the folder is fsynced.
        if (::fsync(dir_fd) != 0) die("fsync " + dir);
        ++n;
      }
      total += n;
    });
  }
  for (auto& w : workers) w.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("fsync_limit threads=%d publishes=%ld per_s=%.0f\n", threads, total.load(),
              static_cast<double>(total.load()) / elapsed);
  ::close(dir_fd);
  return 0;
}
