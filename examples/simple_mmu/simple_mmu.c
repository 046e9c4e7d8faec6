/* simple_mmu.c: a shadow MMU that keeps one shadow tree and drops all of it
 * whenever the guest's view of its tables may have changed. The tree is never
 * stale: every leaf is the guest walk of its gva as the guest tables read
 * now, with the rights of that walk (less, never more). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_track.h"
#include "guest_walk.h"
#include "shadow_table.h"
#include "shadowdiff/mmu.h"

#define SWITCH_NO_FLUSH_ON_ZAP "no-flush-on-zap"
#define KNOWN_SWITCHES SWITCH_NO_FLUSH_ON_ZAP

struct shadowdiff_mmu {
	shadowdiff_host *host;
	/* Planted bug: a dropped shadow leaves the host TLB as it was. */
	bool no_flush_on_zap;
	shadowdiff_paging_state state;
	struct shadow_table shadow;
	struct frame_track frames;
};

static void zap_all(shadowdiff_mmu *mmu)
{
	shadow_free_all(&mmu->shadow);
	frame_track_clear(&mmu->frames);
	if (!mmu->no_flush_on_zap)
		mmu->host->ops->flush_tlb_all(mmu->host, SHADOWDIFF_ALL_VCPUS);
}

/* Switches are comma-separated; an empty one (",,") is allowed. */
static shadowdiff_mmu *simple_create(const char *switches, char *error,
				     size_t error_size)
{
	shadowdiff_mmu *mmu = calloc(1, sizeof(*mmu));
	const char *p = switches ? switches : "";

	if (!mmu) {
		snprintf(error, error_size, "simple MMU: out of memory");
		return NULL;
	}
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == strlen(SWITCH_NO_FLUSH_ON_ZAP) &&
		    !strncmp(p, SWITCH_NO_FLUSH_ON_ZAP, len)) {
			mmu->no_flush_on_zap = true;
		} else if (len) {
			snprintf(error, error_size,
				 "simple MMU: unknown switch '%.*s' (known: %s)",
				 (int)len, p, KNOWN_SWITCHES);
			free(mmu);
			return NULL;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return mmu;
}

/* The table pages are the host's, and the host may be gone by now. */
static void simple_destroy(shadowdiff_mmu *mmu)
{
	frame_track_destroy(&mmu->frames);
	free(mmu);
}

static bool simple_start(shadowdiff_mmu *mmu, shadowdiff_host *host,
			 const shadowdiff_controls *controls, char *error,
			 size_t error_size)
{
	if (mmu->host) {
		snprintf(error, error_size, "simple MMU: started twice");
		return false;
	}
	if (controls->mode > SHADOWDIFF_MODE_4LEVEL) {
		snprintf(error, error_size, "simple MMU: unknown mode %u",
			 controls->mode);
		return false;
	}
	if (!frame_track_init(&mmu->frames, host)) {
		snprintf(error, error_size, "simple MMU: out of memory");
		return false;
	}
	mmu->host = host;
	mmu->shadow.host = host;
	memset(&mmu->state, 0, sizeof(mmu->state));
	mmu->state.controls = *controls;
	return true;
}

static shadowdiff_root simple_current_root(shadowdiff_mmu *mmu,
					   shadowdiff_vcpu vcpu)
{
	shadowdiff_root root = { .kind = SHADOWDIFF_ROOT_4LEVEL };

	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	if (!shadow_root_hpa(&mmu->shadow, &root.hpa)) {
		zap_all(mmu);
		/* With every page back, not even a root fits the budget. */
		SHADOWDIFF_BUG_ON(mmu->host,
				  !shadow_root_hpa(&mmu->shadow, &root.hpa));
	}
	return root;
}

/* A walk that succeeded read its tables: they become write-protected from
 * now on. One of them still mapped writable (it was data until now) would
 * let the guest change it unseen, so then everything goes first. */
static void protect_tables(shadowdiff_mmu *mmu, const struct guest_walk *walk)
{
	uint8_t *flags[GUEST_MAX_LEVELS] = { 0 };
	bool mapped_writable = false;
	int i;

	for (i = 0; i < walk->nr_entries; i++) {
		if (walk->in_register[i])
			continue;
		/* A table outside RAM reads as not present: no walk got past. */
		flags[i] = frame_flags(&mmu->frames, walk->entry_gpa[i] >> 12);
		SHADOWDIFF_BUG_ON(mmu->host, flags[i] == NULL);
		if (flags[i] && (*flags[i] & FRAME_WRITABLE))
			mapped_writable = true;
	}
	if (mapped_writable)
		zap_all(mmu);
	for (i = 0; i < walk->nr_entries; i++) {
		if (flags[i])
			*flags[i] |= FRAME_TABLE;
	}
}

static shadowdiff_fault_resolution resolve(uint32_t kind, uint32_t error_code,
					   uint64_t gpa)
{
	shadowdiff_fault_resolution r = {
		.kind = kind, .guest_error_code = error_code, .gpa = gpa,
	};

	return r;
}

/* The guest walk decides everything; the host's error code only says which
 * spte was missing or short of rights, and the walk finds that out anyway. */
static shadowdiff_fault_resolution simple_handle_fault(
	shadowdiff_mmu *mmu, shadowdiff_vcpu vcpu, uint64_t gva,
	shadowdiff_access access, bool user, uint32_t host_error_code)
{
	bool write = access == SHADOWDIFF_ACCESS_WRITE;
	struct guest_walk walk;
	uint64_t gfn, hfn, spte;
	uint8_t *flags;
	bool writable, user_page;

	(void)host_error_code;
	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	guest_walk(mmu->host, &mmu->state, gva, access, user, &walk);
	if (!walk.ok)
		return resolve(SHADOWDIFF_INJECT_PF, walk.error_code, 0);
	/* The walk succeeded, so A/D are set even if it leads to MMIO. */
	guest_set_accessed_dirty(mmu->host, &mmu->state, &walk, write);
	gfn = walk.gpa >> 12;
	if (!mmu->host->ops->gfn_to_hfn(mmu->host, gfn, &hfn))
		return resolve(SHADOWDIFF_EMULATE, 0, walk.gpa);

	protect_tables(mmu, &walk);
	flags = frame_flags(&mmu->frames, gfn);
	SHADOWDIFF_BUG_ON(mmu->host, flags == NULL);
	if (!flags)
		return resolve(SHADOWDIFF_EMULATE, 0, walk.gpa);
	/* A store to a guest table (the guest may write it) is emulated, so
	 * that the shadows built from it go with it. */
	if (write && (*flags & FRAME_TABLE))
		return resolve(SHADOWDIFF_EMULATE, 0, walk.gpa);

	/* Writable only once D is set, so that the first write faults here
	 * and sets it. */
	writable = walk.writable && (walk.dirty || write);
	user_page = walk.user;
	/* CR0.WP=0 lets a supervisor write a read-only page. The host has
	 * WP=1, so the leaf is made writable but supervisor-only: a user
	 * access faults again and gets the read-only leaf. */
	if (write && !user && !mmu->state.controls.cr0_wp && !walk.writable) {
		writable = true;
		user_page = false;
	}
	writable = writable && !(*flags & FRAME_TABLE);
	if (writable)
		*flags |= FRAME_WRITABLE;

	spte = ((hfn << 12) & SHADOWDIFF_SPTE_FRAME_MASK) |
	       SHADOWDIFF_SPTE_PRESENT |
	       (writable ? SHADOWDIFF_SPTE_WRITABLE : 0) |
	       (user_page ? SHADOWDIFF_SPTE_USER : 0) |
	       (walk.nx ? SHADOWDIFF_SPTE_NX : 0);
	/* Out of host pages: start again from nothing. */
	if (!shadow_map(&mmu->shadow, gva, spte))
		zap_all(mmu);
	return resolve(SHADOWDIFF_RETRY, 0, 0);
}

/* Only a write to a frame some shadow was built from can change a shadow;
 * stores to data pages leave everything in place. */
static void simple_emulated_write(shadowdiff_mmu *mmu, shadowdiff_vcpu vcpu,
				  uint64_t gpa, const uint8_t *bytes,
				  size_t len)
{
	uint64_t gfn;

	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	SHADOWDIFF_BUG_ON(mmu->host, len == 0 || len > 8);
	for (gfn = gpa >> 12; len && gfn <= (gpa + len - 1) >> 12; gfn++) {
		const uint8_t *flags = frame_flags(&mmu->frames, gfn);

		if (flags && (*flags & FRAME_TABLE)) {
			zap_all(mmu);
			break;
		}
	}
	mmu->host->ops->write_guest(mmu->host, gpa, bytes, len);
}

/* SDM 4.4.1: in PAE mode MOV to CR3 loads the PDPTE registers, or fails
 * with #GP and changes nothing. */
static bool simple_load_cr3(shadowdiff_mmu *mmu, shadowdiff_vcpu vcpu,
			    uint64_t cr3)
{
	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	/* Without CR4.PCIDE (which this MMU does not declare), bit 63 of the
	 * source is a reserved bit of CR3. */
	if (cr3 & SHADOWDIFF_CR3_NO_FLUSH)
		return false;
	if (mmu->state.controls.mode == SHADOWDIFF_MODE_PAE &&
	    !guest_load_pdptes(mmu->host, cr3, mmu->state.pdptes))
		return false;
	mmu->state.cr3 = cr3;
	zap_all(mmu);
	return true;
}

/* SDM 4.4.1: in PAE mode a change of CR4.PSE reloads the PDPTE registers
 * and may fail the same way; CR0.WP and EFER.NXE changes do not. Every
 * control changes how entries read (or, for CR0.WP, what the supervisor-only
 * writable leaves stand for), so the shadow goes. */
static bool simple_set_controls(shadowdiff_mmu *mmu, shadowdiff_vcpu vcpu,
				const shadowdiff_controls *controls)
{
	shadowdiff_paging_state next = mmu->state;

	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	SHADOWDIFF_BUG_ON(mmu->host, controls->mode != mmu->state.controls.mode);
	next.controls = *controls;
	if (controls->mode == SHADOWDIFF_MODE_PAE &&
	    controls->cr4_pse != mmu->state.controls.cr4_pse &&
	    !guest_load_pdptes(mmu->host, next.cr3, next.pdptes))
		return false;
	mmu->state = next;
	zap_all(mmu);
	return true;
}

/* The shadow is never stale, but INVLPG is where a guest says its view of a
 * gva changed, and dropping everything is the simplest thing that honours
 * it. */
static void simple_invlpg(shadowdiff_mmu *mmu, shadowdiff_vcpu vcpu,
			  uint64_t gva)
{
	(void)gva;
	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	zap_all(mmu);
}

/* With CR4.PCIDE=0 only PCID 0 exists: a type 0 or 1 naming another is #GP
 * (SDM Vol. 2B, INVPCID). Every other INVPCID drops the shadow, as INVLPG
 * does. */
static bool simple_invpcid(shadowdiff_mmu *mmu, shadowdiff_vcpu vcpu,
			   uint32_t type, uint32_t pcid, uint64_t gva)
{
	(void)gva;
	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	if (type <= SHADOWDIFF_INVPCID_CONTEXT && pcid != 0)
		return false;
	zap_all(mmu);
	return true;
}

static void simple_current_state(shadowdiff_mmu *mmu, shadowdiff_vcpu vcpu,
				 shadowdiff_paging_state *out)
{
	SHADOWDIFF_BUG_ON(mmu->host, vcpu != 0);
	*out = mmu->state;
}

static const shadowdiff_mmu_ops simple_mmu_ops = {
	.abi_version = SHADOWDIFF_MMU_ABI_VERSION,
	.name = "simple",
	.summary = "one shadow tree of 4 KB leaves, dropped whole on CR3 loads, "
		   "control changes, INVLPG and writes to guest tables "
		   "(examples/simple_mmu)",
	.switches = KNOWN_SWITCHES,
	.capabilities = {
		.modes = SHADOWDIFF_MODE_BIT(SHADOWDIFF_MODE_32BIT) |
			 SHADOWDIFF_MODE_BIT(SHADOWDIFF_MODE_PAE) |
			 SHADOWDIFF_MODE_BIT(SHADOWDIFF_MODE_4LEVEL),
		.controls = SHADOWDIFF_CONTROL_CR0_WP |
			    SHADOWDIFF_CONTROL_CR4_PSE |
			    SHADOWDIFF_CONTROL_EFER_NXE,
		.gbpages = true,
		.max_vcpus = 1,
	},
	.create = simple_create,
	.destroy = simple_destroy,
	.start = simple_start,
	.current_root = simple_current_root,
	.handle_fault = simple_handle_fault,
	.emulated_write = simple_emulated_write,
	.load_cr3 = simple_load_cr3,
	.set_controls = simple_set_controls,
	.invlpg = simple_invlpg,
	.invpcid = simple_invpcid,
	.current_state = simple_current_state,
	.kept_roots = NULL,
};

SHADOWDIFF_REGISTER_MMU(simple_mmu_ops)
