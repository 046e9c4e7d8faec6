#ifndef SHADOWDIFF_FUZZ_CASE_FILE_H_
#define SHADOWDIFF_FUZZ_CASE_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/case.pb.h"

namespace shadowdiff {

// The largest case file ReadCaseFile reads. The biggest normalized case is a
// few KB, so anything near this is not a case, and the limit keeps a wrong
// path (a device, a disk image) from filling memory.
inline constexpr size_t kMaxCaseFileBytes = 1 << 20;

// Whether WriteCaseFile writes text: names ending in .textproto, .txtpb or
// .pbtxt. Reading decides by content instead (see LooksLikeText), since
// libFuzzer's crash files have no extension whatever they hold.
bool IsTextCaseName(std::string_view path);

// Whether `bytes` look like a text case: non-empty, and only printable ASCII,
// tab, CR, LF and (in comments and strings) UTF-8 sequences. A binary case
// almost always holds a control byte (most field tags are one).
bool LooksLikeText(std::string_view bytes);

// Parses a case; errors name `source` and the line and column (text) or the
// byte offset (binary) where parsing failed.
absl::StatusOr<Case> ParseTextCase(std::string_view text,
                                   std::string_view source);
absl::StatusOr<Case> ParseBinaryCase(std::string_view bytes,
                                     std::string_view source);

// The bytes of a regular file (symlinks followed) of at most
// kMaxCaseFileBytes: anything else (a directory, FIFO, device, socket) is an
// InvalidArgument error naming the path and what it is, and is never opened,
// so a FIFO cannot block the read. Every file the tools read goes through it.
absl::StatusOr<std::string> ReadBoundedFile(const std::string& path);

// Reads a case from a regular file (symlinks followed) of at most
// kMaxCaseFileBytes, through ReadBoundedFile. It is parsed in the format
// LooksLikeText picks, else in the other one; when neither parses, the error is
// that of the picked one. Anything other than a regular file (a directory,
// FIFO, device, socket) is an InvalidArgument error naming the path and what it
// is; it is never opened, so a FIFO cannot block the read.
absl::StatusOr<Case> ReadCaseFile(const std::string& path);
// Text files may start with a header of `#` comment lines.
absl::Status WriteCaseFile(const std::string& path, const Case& c,
                           std::string_view text_header = "");

struct CaseFileList {
  std::vector<std::string> files;
  // What a directory walk left out, one "PATH: why" line each (sorted), e.g.
  // "d/.git: hidden" or "d/fifo: not a regular file (a FIFO)".
  std::vector<std::string> skipped;
};

// The case files named by paths, in their order: a regular file as it is (its
// name does not matter); a directory, recursively, every regular file in it
// (symlinks to files followed), sorted. A walk skips and lists hidden entries
// (a hidden directory once, not entered), other non-regular files, and
// symlinks to directories (not followed). A path given that does not exist is
// a NotFound error, one that is neither a regular file nor a directory an
// InvalidArgument error: explicit bad inputs fail rather than being skipped.
absl::StatusOr<CaseFileList> ListCaseFiles(
    const std::vector<std::string>& paths);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_CASE_FILE_H_
