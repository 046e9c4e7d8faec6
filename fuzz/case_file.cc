#include "fuzz/case_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fuzz/report.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/wire_format_lite.h"

namespace shadowdiff {
namespace {

namespace fs = std::filesystem;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Keeps the first error the text parser reports, with its position.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (message_.empty()) {
      line_ = line + 1;
      column_ = column + 1;
      message_ = message;
    }
  }
  std::string Describe(std::string_view source) const {
    return absl::StrFormat("%s:%d:%d: %s", source, line_, column_, message_);
  }

 private:
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

// The offset of the first top-level field that cannot be read, for the error
// message (the protobuf parser itself does not say where it stopped).
int64_t FirstBadFieldOffset(std::string_view bytes) {
  CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                         static_cast<int>(bytes.size()));
  while (true) {
    const int64_t offset = input.CurrentPosition();
    const uint32_t tag = input.ReadTag();
    if (tag == 0) return input.ExpectAtEnd() ? -1 : offset;
    if (!WireFormatLite::SkipField(&input, tag)) return offset;
  }
}

// What a path that is neither a regular file nor a directory is, for
// messages.
std::string_view TypeName(fs::file_type type) {
  switch (type) {
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    default:
      return "of an unknown type";
  }
}

absl::Status FilesystemError(std::string_view path, const std::error_code& ec) {
  return absl::Status(absl::ErrnoToStatusCode(ec.value()),
                      absl::StrFormat("%s: %s", path, ec.message()));
}

// OK for a regular file, else the error for `path` named on its own, where
// `status` and `ec` are what std::filesystem::status said of it.
absl::Status CheckRegularFile(const std::string& path, fs::file_status status,
                              const std::error_code& ec) {
  switch (status.type()) {
    case fs::file_type::regular:
      return absl::OkStatus();
    case fs::file_type::not_found:
      return absl::NotFoundError(
          absl::StrFormat("%s: no such file or directory", path));
    case fs::file_type::none:  // stat failed, e.g. a symlink loop
      return FilesystemError(path, ec);
    case fs::file_type::directory:
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: is a directory", path));
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: is not a regular file (%s)", path, TypeName(status.type())));
  }
}

absl::Status TooBig(std::string_view path, std::string_view size) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: %s bytes, over the 1 MiB limit for a case file", path, size));
}

// The contents of the open file `fd`, or an error past kMaxCaseFileBytes:
// the size the file had when opened is checked first, and at most one byte
// more than the limit is read, as the file may grow (or not be the regular
// file it was when checked).
absl::StatusOr<std::string> ReadAtMostTheLimit(int fd,
                                               const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("%s: cannot stat", path));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxCaseFileBytes) {
    return TooBig(path, absl::StrCat(st.st_size));
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char chunk[1 << 16];
  while (bytes.size() <= kMaxCaseFileBytes) {
    const size_t want =
        std::min(sizeof(chunk), kMaxCaseFileBytes + 1 - bytes.size());
    const ssize_t n = ::read(fd, chunk, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::ErrnoToStatus(errno,
                                 absl::StrFormat("%s: read error", path));
    }
    if (n == 0) return bytes;
    bytes.append(chunk, static_cast<size_t>(n));
  }
  return TooBig(path, absl::StrCat("more than ", kMaxCaseFileBytes));
}

}  // namespace

bool IsTextCaseName(std::string_view path) {
  return path.ends_with(".textproto") || path.ends_with(".txtpb") ||
         path.ends_with(".pbtxt");
}

bool LooksLikeText(std::string_view bytes) {
  if (bytes.empty()) return false;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if ((byte >= 0x20 && byte < 0x7f) || byte == '\t' || byte == '\n' ||
        byte == '\r') {
      continue;
    }
    // A UTF-8 lead byte and its continuation bytes. Overlong forms and
    // surrogates pass: this is only a guess, and ReadCaseFile tries the other
    // format when it is wrong.
    int continuation = byte >= 0xc2 && byte <= 0xdf   ? 1
                       : byte >= 0xe0 && byte <= 0xef ? 2
                       : byte >= 0xf0 && byte <= 0xf4 ? 3
                                                      : 0;
    if (continuation == 0) return false;
    for (; continuation > 0; --continuation) {
      if (++i == bytes.size() ||
          (static_cast<unsigned char>(bytes[i]) & 0xc0) != 0x80) {
        return false;
      }
    }
  }
  return true;
}

absl::StatusOr<Case> ParseTextCase(std::string_view text,
                                   std::string_view source) {
  Case c;
  FirstError errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &c)) {
    return absl::InvalidArgumentError(errors.Describe(source));
  }
  return c;
}

absl::StatusOr<Case> ParseBinaryCase(std::string_view bytes,
                                     std::string_view source) {
  Case c;
  if (c.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return c;
  const int64_t offset = FirstBadFieldOffset(bytes);
  if (offset < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: not a binary shadowdiff.Case (a nested message is malformed; %d "
        "bytes)",
        source, bytes.size()));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: not a binary shadowdiff.Case: malformed or truncated field at byte "
      "offset %d of %d",
      source, offset, bytes.size()));
}

absl::StatusOr<std::string> ReadBoundedFile(const std::string& path) {
  // Checked before opening: opening a FIFO for reading waits for a writer.
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (absl::Status s = CheckRegularFile(path, status, ec); !s.ok()) return s;
  // O_NONBLOCK in case the path is replaced by a FIFO after the check.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("%s: cannot open", path));
  }
  absl::StatusOr<std::string> bytes = ReadAtMostTheLimit(fd, path);
  ::close(fd);
  return bytes;
}

absl::StatusOr<Case> ReadCaseFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadBoundedFile(path);
  if (!bytes.ok()) return bytes.status();
  const bool text = LooksLikeText(*bytes);
  absl::StatusOr<Case> c =
      text ? ParseTextCase(*bytes, path) : ParseBinaryCase(*bytes, path);
  if (c.ok()) return c;
  // A guess gone wrong, such as a binary case whose bytes happen to be
  // printable; when neither parses, the error of the guess is the one that
  // reads as meant.
  absl::StatusOr<Case> other =
      text ? ParseBinaryCase(*bytes, path) : ParseTextCase(*bytes, path);
  return other.ok() ? other : c;
}

absl::Status WriteCaseFile(const std::string& path, const Case& c,
                           std::string_view text_header) {
  std::string bytes;
  if (IsTextCaseName(path)) {
    bytes = std::string(text_header) + CaseText(c);
  } else if (!c.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrFormat("%s: cannot serialize", path));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) {
    return absl::UnavailableError(absl::StrFormat("%s: cannot write", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<CaseFileList> ListCaseFiles(
    const std::vector<std::string>& paths) {
  CaseFileList list;
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() != fs::file_type::directory) {
      if (absl::Status s = CheckRegularFile(path, status, ec); !s.ok()) {
        return s;
      }
      list.files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    std::vector<std::string> skipped;
    auto skip = [&](const fs::path& entry, std::string_view why) {
      skipped.push_back(absl::StrFormat("%s: %s", entry.string(), why));
    };
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end;
         it.increment(ec)) {
      const fs::path& entry = it->path();
      if (entry.filename().string().starts_with('.')) {
        skip(entry, "hidden");
        it.disable_recursion_pending();
        continue;
      }
      std::error_code entry_ec;
      const fs::file_status entry_status = it->status(entry_ec);
      switch (entry_status.type()) {
        case fs::file_type::regular:
          found.push_back(entry.string());
          break;
        case fs::file_type::directory:
          // A real directory is entered by the iterator; a symlink to one is
          // not, as it could lead back up the tree.
          if (it->is_symlink(entry_ec)) {
            skip(entry, "symbolic link to a directory, not followed");
          }
          break;
        case fs::file_type::not_found:
          skip(entry, "broken symbolic link");
          break;
        case fs::file_type::none:
          skip(entry, entry_ec.message());
          break;
        default:
          skip(entry, absl::StrFormat("not a regular file (%s)",
                                      TypeName(entry_status.type())));
      }
    }
    if (ec) return FilesystemError(path, ec);
    std::sort(found.begin(), found.end());
    std::sort(skipped.begin(), skipped.end());
    list.files.insert(list.files.end(), found.begin(), found.end());
    list.skipped.insert(list.skipped.end(), skipped.begin(), skipped.end());
  }
  return list;
}

}  // namespace shadowdiff
