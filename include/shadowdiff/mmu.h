/* shadowdiff/mmu.h: the MMU under test, seen from C.
 *
 * A hypervisor team plugs its shadow MMU into shadowdiff through two tables of
 * function pointers: shadowdiff_mmu_ops, the MMU's entry points (one per event
 * a real hypervisor's MMU handles: a host page fault, an emulated write, MOV
 * to CR3, INVLPG, a control change), and shadowdiff_host_ops, what the host
 * offers it (guest RAM, page-table pages, TLB flushes, a way to report a bug).
 * Plain C types only, so that kernel-style code compiles against it as is.
 *
 * Tables the MMU owns. The MMU takes page-table pages from alloc_table: real,
 * zeroed, 4 KB-aligned memory that it writes through pointers, as it writes
 * sptes in its own kernel. The host walker reads them in place, with no copy.
 * A page's host-physical address follows one rule (shadowdiff_table_hpa):
 *     hpa = host->table_base_hpa + (pointer - host->table_base)
 * and a frame address found in an spte maps back with shadowdiff_table_ptr.
 * Guest RAM is not in that window: its host frames come from gfn_to_hfn.
 *
 * vCPUs. Cases have one vCPU today (index 0). Every call that concerns one
 * vCPU carries its index and every flush request a set of vCPUs, so that an
 * MMU written against this header keeps working when cases get several.
 *
 * The host's page-table format is x86-64's (64-bit entries, 512 a table),
 * with CR0.WP=1, EFER.NXE=1 and MAXPHYADDR 46: bits 51:46 of a present entry
 * are reserved, which an MMU may use to mark MMIO. See docs/plugging-in.md.
 */
#ifndef SHADOWDIFF_MMU_H_
#define SHADOWDIFF_MMU_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any change to the layout of the structures below. */
#define SHADOWDIFF_MMU_ABI_VERSION 2

/* Guest paging modes (SDM 4.1.1). */
typedef enum shadowdiff_mode {
  SHADOWDIFF_MODE_32BIT = 0,
  SHADOWDIFF_MODE_PAE = 1,
  SHADOWDIFF_MODE_4LEVEL = 2
} shadowdiff_mode;
#define SHADOWDIFF_MODE_BIT(mode) (1u << (mode))

typedef enum shadowdiff_access {
  SHADOWDIFF_ACCESS_READ = 0,
  SHADOWDIFF_ACCESS_WRITE = 1,
  SHADOWDIFF_ACCESS_FETCH = 2
} shadowdiff_access;

/* Page-fault error code bits (SDM 4.7), for host and guest faults alike. */
#define SHADOWDIFF_PF_PRESENT (1u << 0)
#define SHADOWDIFF_PF_WRITE (1u << 1)
#define SHADOWDIFF_PF_USER (1u << 2)
#define SHADOWDIFF_PF_RESERVED (1u << 3)
#define SHADOWDIFF_PF_FETCH (1u << 4)

/* Host page-table entry bits. */
#define SHADOWDIFF_SPTE_PRESENT (UINT64_C(1) << 0)
#define SHADOWDIFF_SPTE_WRITABLE (UINT64_C(1) << 1)
#define SHADOWDIFF_SPTE_USER (UINT64_C(1) << 2)
#define SHADOWDIFF_SPTE_ACCESSED (UINT64_C(1) << 5)
#define SHADOWDIFF_SPTE_DIRTY (UINT64_C(1) << 6)
#define SHADOWDIFF_SPTE_PAGE_SIZE (UINT64_C(1) << 7)
#define SHADOWDIFF_SPTE_NX (UINT64_C(1) << 63)
#define SHADOWDIFF_HOST_MAXPHYADDR 46
#define SHADOWDIFF_SPTE_FRAME_MASK \
  (((UINT64_C(1) << SHADOWDIFF_HOST_MAXPHYADDR) - 1) & ~UINT64_C(0xFFF))
#define SHADOWDIFF_SPTE_RESERVED_MASK \
  (((UINT64_C(1) << 52) - 1) &        \
   ~((UINT64_C(1) << SHADOWDIFF_HOST_MAXPHYADDR) - 1))
#define SHADOWDIFF_ENTRIES_PER_TABLE 512

/* The controls that decide a guest walk besides CR3. */
typedef struct shadowdiff_controls {
  uint32_t mode; /* shadowdiff_mode */
  bool cr0_wp;
  bool cr4_pse;
  bool efer_nxe;
  bool gbpages;   /* the CPU model has 1 GB pages (4-level only) */
  bool cr4_pge;   /* global pages (SDM 4.10.2.4) */
  bool cr4_pcide; /* PCIDs, 4-level only: CR3[11:0] is the PCID (SDM 4.10.1) */
} shadowdiff_controls;

/* Bit 63 of a MOV to CR3 source: with CR4.PCIDE=1 the load invalidates
 * nothing; with CR4.PCIDE=0 it is a reserved bit (#GP). */
#define SHADOWDIFF_CR3_NO_FLUSH (UINT64_C(1) << 63)

/* The INVPCID types (SDM 4.10.4.1). */
typedef enum shadowdiff_invpcid_type {
  SHADOWDIFF_INVPCID_ADDRESS = 0,         /* one address in one PCID */
  SHADOWDIFF_INVPCID_CONTEXT = 1,         /* one PCID, global entries kept */
  SHADOWDIFF_INVPCID_ALL_WITH_GLOBAL = 2, /* every PCID, global entries too */
  SHADOWDIFF_INVPCID_ALL_BUT_GLOBAL = 3   /* every PCID, global entries kept */
} shadowdiff_invpcid_type;

/* The guest state an MMU believes is current; pdptes are the PAE PDPTE
 * registers loaded at the last CR3 load (SDM 4.4.1), zero otherwise. */
typedef struct shadowdiff_paging_state {
  shadowdiff_controls controls;
  uint64_t cr3;
  uint64_t pdptes[4];
} shadowdiff_paging_state;

/* The root the host walker starts from.
 *  SHADOWDIFF_ROOT_4LEVEL: a PML4 at hpa.
 *  SHADOWDIFF_ROOT_PAE: four 64-bit entries at hpa (32-byte aligned), indexed
 *  by gva[31:30], of which only P and the frame count (KVM's pae_root). */
typedef enum shadowdiff_root_kind {
  SHADOWDIFF_ROOT_4LEVEL = 0,
  SHADOWDIFF_ROOT_PAE = 1
} shadowdiff_root_kind;

typedef struct shadowdiff_root {
  uint32_t kind; /* shadowdiff_root_kind */
  uint64_t hpa;
} shadowdiff_root;

/* A root the MMU keeps besides the current one, with the guest state it
 * shadows: the audit checks it too. */
typedef struct shadowdiff_kept_root {
  shadowdiff_root root;
  shadowdiff_paging_state guest;
} shadowdiff_kept_root;

typedef enum shadowdiff_resolution_kind {
  SHADOWDIFF_RETRY = 0,     /* tables fixed: run the access again */
  SHADOWDIFF_INJECT_PF = 1, /* the guest takes #PF(guest_error_code) */
  SHADOWDIFF_EMULATE = 2    /* the access is emulated at gpa: a store goes
                               through emulated_write, a gpa outside RAM is
                               MMIO */
} shadowdiff_resolution_kind;

typedef struct shadowdiff_fault_resolution {
  uint32_t kind; /* shadowdiff_resolution_kind */
  uint32_t guest_error_code;
  uint64_t gpa;
} shadowdiff_fault_resolution;

typedef uint32_t shadowdiff_vcpu;
#define SHADOWDIFF_MAX_VCPUS 64
/* Bit i: vCPU i. */
typedef struct shadowdiff_vcpu_set {
  uint64_t bits;
} shadowdiff_vcpu_set;
#define SHADOWDIFF_ALL_VCPUS ((shadowdiff_vcpu_set){~UINT64_C(0)})
#define SHADOWDIFF_VCPU(i) ((shadowdiff_vcpu_set){UINT64_C(1) << (i)})

/* One slot of guest RAM: gfns [base_gfn, base_gfn + pages). */
typedef struct shadowdiff_memslot {
  uint64_t base_gfn;
  uint64_t pages;
} shadowdiff_memslot;

typedef struct shadowdiff_host shadowdiff_host;

/* What the host offers the MMU. Every function takes the host it came with. */
typedef struct shadowdiff_host_ops {
  /* Guest RAM by gpa, as the hypervisor reaches it through its memory slots.
   * A gpa outside every slot is MMIO: reads fail (zero-filled), writes are
   * dropped; both return false then. An access may span pages. */
  bool (*read_guest)(shadowdiff_host* host, uint64_t gpa, void* out,
                     size_t len);
  bool (*write_guest)(shadowdiff_host* host, uint64_t gpa, const void* bytes,
                      size_t len);
  /* The host frame backing guest frame gfn; false for MMIO. */
  bool (*gfn_to_hfn)(shadowdiff_host* host, uint64_t gfn, uint64_t* hfn);
  /* The memory slots, up to max of them into out; returns how many exist. */
  size_t (*memslots)(shadowdiff_host* host, shadowdiff_memslot* out,
                     size_t max);

  /* A zeroed, 4 KB-aligned page-table page, or NULL when the case's budget
   * of pages is spent (free some and try again, as on a real host). */
  void* (*alloc_table)(shadowdiff_host* host);
  void (*free_table)(shadowdiff_host* host, void* table);

  /* The host TLB keeps what the host walker found until one of these drops
   * it (on a tagged host; see docs/semantics.md for --host-tlb=untagged). */
  void (*flush_tlb_gva)(shadowdiff_host* host, shadowdiff_vcpu_set vcpus,
                        uint64_t gva);
  void (*flush_tlb_all)(shadowdiff_host* host, shadowdiff_vcpu_set vcpus);

  /* An internal error of the MMU (BUG_ON, a failed assertion): reported as
   * a finding at the op under way. The MMU returns from the call in progress
   * as best it can; no further call is made to it. */
  void (*report_error)(shadowdiff_host* host, const char* file, int line,
                       const char* message);
} shadowdiff_host_ops;

struct shadowdiff_host {
  const shadowdiff_host_ops* ops;
  /* The window of table pages (see the top of this file). */
  uint8_t* table_base;
  uint64_t table_base_hpa;
  uint64_t table_bytes;
};

static inline uint64_t shadowdiff_table_hpa(const shadowdiff_host* host,
                                            const void* table) {
  return host->table_base_hpa +
         (uint64_t)((const uint8_t*)table - host->table_base);
}

/* The table page at hpa (any offset inside it), or NULL outside the window. */
static inline void* shadowdiff_table_ptr(const shadowdiff_host* host,
                                         uint64_t hpa) {
  if (hpa < host->table_base_hpa ||
      hpa - host->table_base_hpa >= host->table_bytes) {
    return NULL;
  }
  return host->table_base + (hpa - host->table_base_hpa);
}

#define SHADOWDIFF_BUG_ON(host, condition)                  \
  do {                                                      \
    if (condition) {                                        \
      (host)->ops->report_error((host), __FILE__, __LINE__, \
                                "BUG_ON(" #condition ")");  \
    }                                                       \
  } while (0)

/* Controls an MMU may declare it handles with both values; one it does not
 * declare must stay 0 for the whole case. */
#define SHADOWDIFF_CONTROL_CR0_WP (1u << 0)
#define SHADOWDIFF_CONTROL_CR4_PSE (1u << 1)
#define SHADOWDIFF_CONTROL_EFER_NXE (1u << 2)
#define SHADOWDIFF_CONTROL_CR4_PGE (1u << 3)
#define SHADOWDIFF_CONTROL_CR4_PCIDE (1u << 4)

/* What an MMU supports. A case outside it is skipped and counted as
 * unsupported, never reported as a divergence. */
typedef struct shadowdiff_capabilities {
  uint32_t modes;    /* SHADOWDIFF_MODE_BIT(...) of each mode */
  uint32_t controls; /* SHADOWDIFF_CONTROL_... */
  bool gbpages;      /* 1 GB pages on a CPU model that has them */
  uint32_t max_vcpus;
} shadowdiff_capabilities;

typedef struct shadowdiff_mmu shadowdiff_mmu;

/* The MMU's entry points. Life cycle: create (with the MMU's own switch
 * string, e.g. planted bugs), start (guest RAM filled in, CR3 still 0), then
 * load_cr3 with the case's initial CR3, then the ops; destroy at the end. */
typedef struct shadowdiff_mmu_ops {
  uint32_t abi_version; /* SHADOWDIFF_MMU_ABI_VERSION */
  const char* name;     /* for --mmu=NAME: letters, digits, '-' and '_' */
  const char* summary;  /* one line for the list of MMUs */
  /* The switches this MMU understands, comma-separated, for the usage. */
  const char* switches;
  shadowdiff_capabilities capabilities;

  /* NULL with a message in error[0..error_size) for bad switches. */
  shadowdiff_mmu* (*create)(const char* switches, char* error,
                            size_t error_size);
  void (*destroy)(shadowdiff_mmu* mmu);
  /* false with a message: the MMU could not start (an MMU error). */
  bool (*start)(shadowdiff_mmu* mmu, shadowdiff_host* host,
                const shadowdiff_controls* controls, char* error,
                size_t error_size);

  /* The root the host walker must use now (built on demand). */
  shadowdiff_root (*current_root)(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu);
  /* A host page fault on gva; host_error_code in the SDM 4.7 layout. */
  shadowdiff_fault_resolution (*handle_fault)(
      shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint64_t gva,
      shadowdiff_access access, bool user, uint32_t host_error_code);
  /* An emulated write of len (1..8) bytes at gpa: the MMU brings its
   * shadows up to date and writes guest memory through write_guest. */
  void (*emulated_write)(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu,
                         uint64_t gpa, const uint8_t* bytes, size_t len);
  /* MOV to CR3 of the source, bit 63 included; false means #GP (bit 63 with
   * CR4.PCIDE=0, a PAE PDPTE with reserved bits set). */
  bool (*load_cr3)(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint64_t cr3);
  /* A change of CR0.WP, CR4.PSE, EFER.NXE, CR4.PGE or CR4.PCIDE (never of
   * the mode); false means #GP. */
  bool (*set_controls)(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu,
                       const shadowdiff_controls* controls);
  void (*invlpg)(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint64_t gva);
  /* INVPCID (type: shadowdiff_invpcid_type; gva for type 0 only); false
   * means #GP (CR4.PCIDE=0 and a type 0 or 1 naming a PCID other than 0). */
  bool (*invpcid)(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint32_t type,
                  uint32_t pcid, uint64_t gva);
  void (*current_state)(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu,
                        shadowdiff_paging_state* out);
  /* Optional (NULL: none). Up to max kept roots into out; returns how many
   * the MMU keeps. */
  size_t (*kept_roots)(shadowdiff_mmu* mmu, shadowdiff_kept_root* out,
                       size_t max);
} shadowdiff_mmu_ops;

/* Adds an MMU to the registry; returns false (and says why on stderr) for a
 * bad or duplicate name or another ABI version. ops must outlive the run. */
bool shadowdiff_register_mmu(const shadowdiff_mmu_ops* ops);

/* Registers ops before main(). The library holding it is linked whole
 * (shadowdiff_add_fuzzer does that), so the registrar is not dropped. */
#define SHADOWDIFF_REGISTER_MMU(ops)                                         \
  __attribute__((constructor)) static void shadowdiff_register_##ops(void) { \
    shadowdiff_register_mmu(&(ops));                                         \
  }

#ifdef __cplusplus
}
#endif

#endif /* SHADOWDIFF_MMU_H_ */
