#include "impl/page_cache.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "impl/role.h"
#include "impl/shadow_page.h"

namespace shadowdiff::impl {

ShadowPage* PageCache::Find(uint64_t gfn, const Role& role) const {
  auto it = pages_.find(Key{gfn, role});
  return it == pages_.end() ? nullptr : it->second.get();
}

ShadowPage* PageCache::AtFrame(uint64_t hfn) const {
  auto it = by_frame_.find(hfn);
  return it == by_frame_.end() ? nullptr : it->second;
}

std::span<ShadowPage* const> PageCache::IndirectPagesOf(uint64_t gfn) const {
  auto it = indirect_by_gfn_.find(gfn);
  if (it == indirect_by_gfn_.end()) return {};
  return it->second;
}

ShadowPage* PageCache::Insert(std::unique_ptr<ShadowPage> page) {
  ShadowPage* raw = page.get();
  by_frame_[raw->hfn] = raw;
  if (!raw->role.direct) indirect_by_gfn_[raw->gfn].push_back(raw);
  pages_[Key{raw->gfn, raw->role}] = std::move(page);
  return raw;
}

void PageCache::Remove(ShadowPage* page) {
  by_frame_.erase(page->hfn);
  if (!page->role.direct) {
    auto it = indirect_by_gfn_.find(page->gfn);
    auto& pages = it->second;
    pages.erase(std::remove(pages.begin(), pages.end(), page), pages.end());
    if (pages.empty()) indirect_by_gfn_.erase(it);
  }
  pages_.erase(Key{page->gfn, page->role});
}

void PageCache::Clear() {
  by_frame_.clear();
  indirect_by_gfn_.clear();
  pages_.clear();
}

std::vector<ShadowPage*> PageCache::All() const {
  std::vector<ShadowPage*> all;
  all.reserve(pages_.size());
  for (const auto& [key, page] : pages_) all.push_back(page.get());
  std::sort(
      all.begin(), all.end(),
      [](const ShadowPage* a, const ShadowPage* b) { return a->hfn < b->hfn; });
  return all;
}

}  // namespace shadowdiff::impl
