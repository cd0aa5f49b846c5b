/* SPDX-License-Identifier: MIT */
/*
 * The writer's wait between a flip and touching the generation it retired
 * (the quiesce op of zs_dp_map_ops; see docs/DESIGN-NOTES.md, "Retiring the
 * old generation").
 */
#ifndef ZS_QUIESCE_H
#define ZS_QUIESCE_H

/* ctx: struct zs_dp * (may be NULL: then a grace period). */
void zs_dp_quiesce(void *ctx);

#endif /* ZS_QUIESCE_H */
