//! One test per validation rule of the global sections (`dpdk`, `port`,
//! `neighbor`, `route`, `arp`, `log`, `timeouts`, `conn`). Each broken file
//! must yield exactly one error naming the key path and line.

use super::{base_with, check, check_at, BASE};

// ---- dpdk ----
#[test]
fn dpdk_missing_table() {
    let text = BASE.replace("[dpdk]\nlcores = \"0-2\"\n", "");
    check_at(&text, "dpdk", None, "missing required table [dpdk]");
}
rule!(
    dpdk_lcores_missing,
    base_with("lcores = \"0-2\"", "memory_mb = 64"),
    "dpdk.lcores",
    "[dpdk]",
    "missing required key 'lcores'"
);
rule!(
    dpdk_lcores_syntax,
    base_with("0-2", "0-x"),
    "dpdk.lcores",
    "lcores",
    "invalid core list '0-x'"
);
rule!(
    dpdk_lcores_descending,
    base_with("0-2", "3-1"),
    "dpdk.lcores",
    "lcores",
    "descending"
);
rule!(
    dpdk_lcores_too_big,
    base_with("0-2", "0,5000"),
    "dpdk.lcores",
    "lcores",
    "out of range"
);
rule!(
    dpdk_lcores_no_worker,
    base_with("0-2", "3,3"),
    "dpdk.lcores",
    "lcores",
    "at least two lcores"
);
rule!(
    dpdk_memory,
    base_with("lcores = \"0-2\"", "lcores = \"0-2\"\nmemory_mb = 0"),
    "dpdk.memory_mb",
    "memory_mb",
    "expected an integer in 1..=1048576"
);
rule!(
    dpdk_prefix,
    base_with(
        "lcores = \"0-2\"",
        "lcores = \"0-2\"\nfile_prefix = \"a/b\""
    ),
    "dpdk.file_prefix",
    "file_prefix",
    "invalid file prefix"
);
rule!(
    dpdk_burst,
    base_with("lcores = \"0-2\"", "lcores = \"0-2\"\nburst = 513"),
    "dpdk.burst",
    "burst",
    "1..=512"
);
rule!(
    dpdk_mbufs,
    base_with("lcores = \"0-2\"", "lcores = \"0-2\"\nmbufs = 1000"),
    "dpdk.mbufs",
    "mbufs",
    "1023..="
);

// ---- port ----
#[test]
fn port_none() {
    check_at(
        "[dpdk]\nlcores = \"0-1\"\n",
        "port",
        None,
        "no [[port]] defined",
    );
}
rule!(
    port_name_missing,
    base_with("name = \"int\"\n", ""),
    "port[1].name",
    "[[port]]\ndevice = \"net_af_packet1",
    "missing required key 'name'"
);
rule!(
    port_name_invalid,
    base_with("\"int\"", "\"Int!\""),
    "port[1].name",
    "Int!",
    "invalid port name"
);
rule!(
    port_name_long,
    base_with("\"int\"", "\"abcdefghijklmnop\""),
    "port[1].name",
    "abcdefghijklmnop",
    "1..=15"
);
rule!(
    port_name_duplicate,
    base_with("\"int\"", "\"ext\""),
    "port[1].name",
    "name = \"ext\"\ndevice = \"net_af_packet1",
    "duplicate port name 'ext'"
);
rule!(
    port_device_missing,
    base_with("device = \"net_af_packet1,iface=lv-int\"\n", ""),
    "port[1].device",
    "[[port]]\nname = \"int\"",
    "missing required key 'device'"
);
rule!(
    port_device_invalid,
    base_with("net_af_packet1,iface=lv-int", "eth1"),
    "port[1].device",
    "eth1",
    "invalid device 'eth1'"
);
rule!(
    port_device_bad_pci,
    base_with("net_af_packet1,iface=lv-int", "0000:01:00.9"),
    "port[1].device",
    "0000:01",
    "invalid device"
);
rule!(
    port_device_duplicate,
    base_with("net_af_packet1", "net_af_packet0"),
    "port[1].device",
    "net_af_packet0,iface=lv-int",
    "duplicate device"
);
rule!(
    port_address_missing,
    base_with("address = \"198.18.1.1/24\"\n", ""),
    "port[1].address",
    "[[port]]\nname = \"int\"",
    "missing required key 'address'"
);
rule!(
    port_address_prefix,
    base_with("198.18.1.1/24", "198.18.1.1/33"),
    "port[1].address",
    "/33",
    "invalid IPv4 prefix '198.18.1.1/33': prefix length must be 0..=32"
);
rule!(
    port_address_no_prefix,
    base_with("198.18.1.1/24", "198.18.1.1"),
    "port[1].address",
    "\"198.18.1.1\"",
    "expected ADDRESS/LENGTH"
);
rule!(
    port_address_bad_ip,
    base_with("198.18.1.1/24", "198.18.1.300/24"),
    "port[1].address",
    "300",
    "not an IPv4 address"
);
rule!(
    port_overlap,
    base_with("198.18.1.1/24", "198.18.0.2/16"),
    "port[1].address",
    "198.18.0.2/16",
    "overlaps port[0]"
);
rule!(
    port_rx_queues,
    base_with("name = \"int\"", "name = \"int\"\nrx_queues = 0"),
    "port[1].rx_queues",
    "rx_queues",
    "1..=64"
);
rule!(
    port_tx_queues,
    base_with("name = \"int\"", "name = \"int\"\ntx_queues = 65"),
    "port[1].tx_queues",
    "tx_queues",
    "0..=64"
);
rule!(
    port_mtu,
    base_with("name = \"int\"", "name = \"int\"\nmtu = 9001"),
    "port[1].mtu",
    "mtu",
    "68..=9000"
);
rule!(
    port_mac_multicast,
    base_with(
        "name = \"int\"",
        "name = \"int\"\nmac = \"01:00:5e:00:00:01\""
    ),
    "port[1].mac",
    "mac",
    "unicast"
);
rule!(
    port_mac_syntax,
    base_with("name = \"int\"", "name = \"int\"\nmac = \"02:00:00:00:01\""),
    "port[1].mac",
    "mac",
    "invalid MAC address"
);

// ---- neighbor ----
fn neigh(port: &str, addr: &str, mac: &str) -> String {
    format!("{BASE}\n[[neighbor]]\nport = \"{port}\"\naddress = \"{addr}\"\nmac = \"{mac}\"\n")
}
rule!(
    neighbor_unknown_port,
    neigh("lan", "198.18.1.11", "02:00:00:00:01:0b"),
    "neighbor[0].port",
    "\"lan\"",
    "unknown port 'lan': expected the name of a [[port]] (ext, int)"
);
rule!(
    neighbor_outside_subnet,
    neigh("int", "198.18.0.11", "02:00:00:00:01:0b"),
    "neighbor[0].address",
    "198.18.0.11",
    "not in port 'int's subnet 198.18.1.0/24"
);
rule!(
    neighbor_own_address,
    neigh("int", "198.18.1.1", "02:00:00:00:01:0b"),
    "neighbor[0].address",
    "\"198.18.1.1\"\nmac",
    "own address"
);
rule!(
    neighbor_bad_address,
    neigh("int", "198.18.1", "02:00:00:00:01:0b"),
    "neighbor[0].address",
    "\"198.18.1\"",
    "invalid IPv4 address"
);
rule!(
    neighbor_bad_mac,
    neigh("int", "198.18.1.11", "ff:ff:ff:ff:ff:ff"),
    "neighbor[0].mac",
    "ff:ff",
    "unicast"
);
rule!(
    neighbor_missing_mac,
    format!("{BASE}\n[[neighbor]]\nport = \"int\"\naddress = \"198.18.1.11\"\n"),
    "neighbor[0].mac",
    "[[neighbor]]",
    "missing required key 'mac'"
);
rule!(
    neighbor_duplicate,
    format!(
        "{}[[neighbor]]\nport = \"int\"\naddress = \"198.18.1.11\"\nmac = \"02:00:00:00:01:0c\"\n",
        neigh("int", "198.18.1.11", "02:00:00:00:01:0b")
    ),
    "neighbor[1].address",
    "198.18.1.11\"\nmac = \"02:00:00:00:01:0c",
    "duplicate neighbor 198.18.1.11"
);

// ---- route ----
fn route(dest: &str, via: &str) -> String {
    format!("{BASE}\n[[route]]\ndestination = \"{dest}\"\nvia = \"{via}\"\n")
}
rule!(
    route_host_bits,
    route("10.1.0.0/8", "198.18.0.254"),
    "route[0].destination",
    "10.1.0.0/8",
    "host bits set"
);
rule!(
    route_bad_cidr,
    route("10.0.0.0/40", "198.18.0.254"),
    "route[0].destination",
    "10.0.0.0/40",
    "prefix length must be 0..=32"
);
rule!(
    route_via_unreachable,
    route("0.0.0.0/0", "192.0.2.1"),
    "route[0].via",
    "192.0.2.1",
    "not in any port's connected subnet"
);
rule!(
    route_via_own,
    route("0.0.0.0/0", "198.18.0.1"),
    "route[0].via",
    "via = \"198.18.0.1\"",
    "own address"
);
rule!(
    route_via_missing,
    format!("{BASE}\n[[route]]\ndestination = \"0.0.0.0/0\"\n"),
    "route[0].via",
    "[[route]]",
    "missing required key 'via'"
);
rule!(
    route_duplicate,
    format!(
        "{}[[route]]\ndestination = \"0.0.0.0/0\"\nvia = \"198.18.1.254\"\n",
        route("0.0.0.0/0", "198.18.0.254")
    ),
    "route[1].destination",
    "0.0.0.0/0\"\nvia = \"198.18.1.254",
    "duplicate route to 0.0.0.0/0"
);

// ---- arp, log, timeouts, conn ----
rule!(
    arp_timeout,
    format!("{BASE}[arp]\ntimeout_s = 0\n"),
    "arp.timeout_s",
    "timeout_s",
    "1..=86400"
);
rule!(
    arp_retry,
    format!("{BASE}[arp]\nretry_ms = -5\n"),
    "arp.retry_ms",
    "retry_ms",
    "invalid value -5"
);
rule!(
    arp_pending,
    format!("{BASE}[arp]\npending = 4097\n"),
    "arp.pending",
    "pending",
    "1..=4096"
);
rule!(
    log_format,
    format!("{BASE}[log]\nformat = \"xml\"\n"),
    "log.format",
    "xml",
    "expected \"text\" or \"json\""
);
rule!(
    log_level,
    format!("{BASE}[log]\nlevel = \"\"\n"),
    "log.level",
    "level",
    "invalid log level"
);
rule!(
    timeouts_tcp,
    format!("{BASE}[timeouts]\ntcp = 0\n"),
    "timeouts.tcp",
    "tcp = 0",
    "1..=2678400"
);
rule!(
    timeouts_tcp_fin,
    format!("{BASE}[timeouts]\ntcp_fin = 2678401\n"),
    "timeouts.tcp_fin",
    "tcp_fin",
    "1..=2678400"
);
rule!(
    timeouts_udp,
    format!("{BASE}[timeouts]\nudp = -1\n"),
    "timeouts.udp",
    "udp",
    "1..=2678400"
);
rule!(
    conn_capacity,
    format!("{BASE}[conn]\ncapacity = 1000\n"),
    "conn.capacity",
    "capacity",
    "1024..="
);
rule!(
    conn_defense,
    format!("{BASE}[conn]\ndefense = \"on\"\n"),
    "conn.defense",
    "defense",
    "expected \"auto\", \"off\" or \"always\""
);
rule!(
    conn_defense_threshold,
    format!("{BASE}[conn]\ndefense_threshold = 0\n"),
    "conn.defense_threshold",
    "defense_threshold",
    "1..=100"
);
