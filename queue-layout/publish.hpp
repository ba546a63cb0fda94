// publish.hpp: atomic, durable creation of a file in a queue folder (Maildir's protocol).
//
// Protocol, in this order (each step's reason is at its line in publish.cpp):
//   1. create `.<name>.<pid>.tmp` in the target folder, O_CREAT|O_EXCL|O_WRONLY|O_CLOEXEC, 0600;
//   2. write all bytes (short writes and EINTR are continued);
//   3. fsync the file;
//   4. close it and check the result;
//   5. renameat2(RENAME_NOREPLACE) the temporary to `name`; where the filesystem does not support
//      that flag (EINVAL, ENOSYS), link(2) the temporary to `name`, then unlink the temporary;
//   6. fsync the folder.
// Readers never take dot-names, so until step 5 the file is invisible to them; from step 5 on it
// is complete, because its data was made durable first.
//
// Contract: when publish returns 0 the file is durable under `name` with exactly `bytes`.
// On any error the temporary is removed and the error returned; a failed fsync is an error and is
// never retried into a success. A crash leaves at most a dot-temporary (remove_stale_temporaries
// clears those at startup), never a partial file under `name`. An existing `name` is never
// replaced: EEXIST (std::errc::file_exists) is returned as is, and the caller picks another
// name. If the final folder fsync fails, `name` may already be visible (and complete) but is not
// known to be durable: the error is returned and the caller must not acknowledge the entry.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "queue-layout/errors.hpp"
#include "queue-layout/fs.hpp"

namespace queue_layout {

/// [A-Za-z0-9._-]{1,200}, not starting with '.': entry names and their sidecars
/// ("<entry>.reason", "<entry>.error.json"). Dot-names are reserved for temporaries.
bool is_publish_name(std::string_view name);

/// ".<name>.<pid>.tmp" for this process.
std::string temporary_name(std::string_view name);

/// Publishes `bytes` as `dir/name` (see the protocol above). errc::invalid_name for a name
/// failing is_publish_name; errc::temporary_exists if this process's temporary for `name` is
/// already there (a concurrent publish of the same name, or a dead process of the same pid).
std::error_code publish(const std::filesystem::path& dir, std::string_view name,
                        std::string_view bytes, FileSystem& fs = real_fs());

namespace detail {
/// publish() for any single path component (is_plain_component), e.g. the reason file of a stray
/// with an odd name. Same protocol and contract.
std::error_code publish_component(const std::filesystem::path& dir, std::string_view name,
                                  std::string_view bytes, FileSystem& fs);
}  // namespace detail

}  // namespace queue_layout
