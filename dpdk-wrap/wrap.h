/* Headers bound by bindgen, and one-line shims (lvsd_*) for DPDK's
 * static-inline functions and macros, which have no symbol to link to. */
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>
#include <rte_version.h>
#include <rte_pdump.h>

int lvsd_errno(void);
unsigned lvsd_lcore_id(void);
uint16_t lvsd_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t lvsd_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *lvsd_pktmbuf_alloc(struct rte_mempool *mp);
void lvsd_pktmbuf_free(struct rte_mbuf *m);
char *lvsd_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t lvsd_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t lvsd_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t lvsd_pktmbuf_nb_segs(const struct rte_mbuf *m);
uint16_t lvsd_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t lvsd_pktmbuf_tailroom(const struct rte_mbuf *m);
char *lvsd_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *lvsd_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
char *lvsd_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
int lvsd_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t lvsd_mbuf_port(const struct rte_mbuf *m);
uint64_t lvsd_mbuf_ol_flags(const struct rte_mbuf *m);
uint32_t lvsd_mbuf_rss_hash(const struct rte_mbuf *m);
void lvsd_prefetch0(const void *p);
uint64_t lvsd_get_tsc_cycles(void);
uint64_t lvsd_get_tsc_hz(void);
unsigned lvsd_mempool_in_use(const struct rte_mempool *mp);
unsigned lvsd_mempool_avail(const struct rte_mempool *mp);
int lvsd_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count);
