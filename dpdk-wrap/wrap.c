#include "wrap.h"
#include <rte_prefetch.h>

int lvsd_errno(void) { return rte_errno; }
unsigned lvsd_lcore_id(void) { return rte_lcore_id(); }
uint16_t lvsd_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) { return rte_eth_rx_burst(port, queue, pkts, n); }
uint16_t lvsd_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) { return rte_eth_tx_burst(port, queue, pkts, n); }
struct rte_mbuf *lvsd_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
void lvsd_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
char *lvsd_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, char *); }
uint16_t lvsd_pktmbuf_data_len(const struct rte_mbuf *m) { return m->data_len; }
uint32_t lvsd_pktmbuf_pkt_len(const struct rte_mbuf *m) { return m->pkt_len; }
uint16_t lvsd_pktmbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
uint16_t lvsd_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t lvsd_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
char *lvsd_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *lvsd_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
char *lvsd_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
int lvsd_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
uint16_t lvsd_mbuf_port(const struct rte_mbuf *m) { return m->port; }
uint64_t lvsd_mbuf_ol_flags(const struct rte_mbuf *m) { return m->ol_flags; }
uint32_t lvsd_mbuf_rss_hash(const struct rte_mbuf *m) { return m->hash.rss; }
void lvsd_prefetch0(const void *p) { rte_prefetch0(p); }
uint64_t lvsd_get_tsc_cycles(void) { return rte_get_tsc_cycles(); }
uint64_t lvsd_get_tsc_hz(void) { return rte_get_tsc_hz(); }
unsigned lvsd_mempool_in_use(const struct rte_mempool *mp) { return rte_mempool_in_use_count(mp); }
unsigned lvsd_mempool_avail(const struct rte_mempool *mp) { return rte_mempool_avail_count(mp); }
int lvsd_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count) { return rte_pktmbuf_alloc_bulk(mp, mbufs, count); }
