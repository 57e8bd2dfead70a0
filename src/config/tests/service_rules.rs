//! One test per validation rule of `[[service]]` and `[[service.real]]`.
//! Each broken file must yield exactly one error naming the key path and line.

use super::{check, real, svc};

// ---- service ----
rule!(
    svc_protocol_missing,
    svc("").replace("protocol = \"tcp\"\n", ""),
    "service[0].protocol",
    "[[service]]",
    "missing required key 'protocol'"
);
rule!(
    svc_protocol_bad,
    svc("").replace("\"tcp\"", "\"sctp\""),
    "service[0].protocol",
    "sctp",
    "unknown protocol 'sctp'"
);
rule!(
    svc_vip_missing,
    svc("").replace("vip = \"198.18.0.100\"\n", ""),
    "service[0].vip",
    "[[service]]",
    "missing required key 'vip'"
);
rule!(
    svc_vip_bad,
    svc("").replace("198.18.0.100", "198.18.0"),
    "service[0].vip",
    "vip",
    "invalid IPv4 address"
);
rule!(
    svc_vip_v6,
    svc("").replace("198.18.0.100", "2001:db8::1"),
    "service[0].vip",
    "vip",
    "IPv6"
);
rule!(
    svc_vip_is_port_address,
    svc("").replace("198.18.0.100", "198.18.1.1"),
    "service[0].vip",
    "vip",
    "own address of port[1] 'int'"
);
rule!(
    svc_port_missing,
    svc("").replace("port = 80\n", ""),
    "service[0].port",
    "[[service]]",
    "missing required key 'port'"
);
rule!(
    svc_port_range,
    svc("").replace("port = 80", "port = 65536"),
    "service[0].port",
    "port = 65536",
    "0..=65535"
);
rule!(
    svc_port_zero,
    svc("").replace("port = 80", "port = 0"),
    "service[0].port",
    "port = 0",
    "requires persistence"
);
rule!(
    svc_scheduler,
    svc("scheduler = \"fastest\""),
    "service[0].scheduler",
    "fastest",
    "unknown scheduler 'fastest': expected one of rr, wrr"
);
rule!(
    svc_flag_unknown,
    svc("flags = [\"flag-1\", \"turbo\"]"),
    "service[0].flags[1]",
    "flags",
    "unknown flag 'turbo'"
);
rule!(
    svc_flag_sh_needs_sh,
    svc("flags = [\"sh-port\"]"),
    "service[0].flags[0]",
    "flags",
    "only valid with scheduler \"sh\""
);
rule!(
    svc_flag_mh_needs_mh,
    svc("scheduler = \"sh\"\nflags = [\"sh-port\", \"mh-fallback\"]"),
    "service[0].flags[1]",
    "flags",
    "only valid with scheduler \"mh\""
);
rule!(
    svc_persistence_timeout,
    svc("persistence = { timeout = 0 }"),
    "service[0].persistence.timeout",
    "persistence",
    "1..=2678400"
);
rule!(
    svc_persistence_netmask,
    svc("persistence = { netmask = \"255.0.255.0\" }"),
    "service[0].persistence.netmask",
    "persistence",
    "not contiguous"
);
rule!(
    svc_persistence_netmask_table,
    svc("[service.persistence]\nnetmask = \"255.255.0.255\""),
    "service[0].persistence.netmask",
    "netmask",
    "not contiguous"
);
rule!(
    svc_ops_tcp,
    svc("ops = true"),
    "service[0].ops",
    "ops",
    "only valid with protocol \"udp\""
);
rule!(
    svc_method,
    svc("method = \"fullnat\""),
    "service[0].method",
    "fullnat",
    "unknown forwarding method 'fullnat'"
);
rule!(
    svc_maglev_needs_mh,
    svc("maglev_size = 251"),
    "service[0].maglev_size",
    "maglev_size",
    "only valid with scheduler \"mh\""
);
rule!(
    svc_maglev_prime,
    svc("scheduler = \"mh\"\nmaglev_size = 65536"),
    "service[0].maglev_size",
    "maglev_size",
    "not prime"
);
rule!(
    svc_maglev_range,
    svc("scheduler = \"mh\"\nmaglev_size = 0"),
    "service[0].maglev_size",
    "maglev_size",
    "2..=16777216"
);
rule!(
    svc_name_invalid,
    svc("name = \"my web\""),
    "service[0].name",
    "my web",
    "invalid service name"
);
rule!(
    svc_name_duplicate,
    format!("{}[[service]]\nname = \"tcp-198.18.0.100-80\"\nprotocol = \"udp\"\nvip = \"198.18.0.100\"\nport = 80\n", svc("")),
    "service[1].name",
    "name = \"tcp-",
    "duplicate service name 'tcp-198.18.0.100-80'"
);
rule!(
    svc_duplicate,
    format!(
        "{}[[service]]\nprotocol = \"tcp\"\nvip = \"198.18.0.100\"\nport = 80\nname = \"again\"\n",
        svc("")
    ),
    "service[1].vip",
    "vip = \"198.18.0.100\"\nport = 80\nname",
    "duplicate service tcp 198.18.0.100:80"
);

// ---- service.real ----
rule!(
    real_address_missing,
    format!("{}[[service.real]]\nweight = 2\n", svc("")),
    "service[0].real[0].address",
    "[[service.real]]",
    "missing required key 'address'"
);
rule!(
    real_address_bad,
    real("", "").replace("198.18.1.11", "198.18.1.x"),
    "service[0].real[0].address",
    "198.18.1.x",
    "invalid IPv4 address"
);
rule!(
    real_address_is_vip,
    real("", "").replace("198.18.1.11", "198.18.0.100"),
    "service[0].real[0].address",
    "address = \"198.18.0.100\"",
    "equals the service VIP"
);
rule!(
    real_port_dr,
    real("", "port = 8080"),
    "service[0].real[0].port",
    "8080",
    "differs from the service port 80"
);
rule!(
    real_port_tun,
    real("method = \"tun\"", "port = 81"),
    "service[0].real[0].port",
    "81",
    "\"tun\" forwarding cannot change the port"
);
rule!(
    real_port_range,
    real("method = \"nat\"", "port = 70000"),
    "service[0].real[0].port",
    "70000",
    "0..=65535"
);
rule!(
    real_weight,
    real("", "weight = 65536"),
    "service[0].real[0].weight",
    "weight",
    "0..=65535"
);
rule!(
    real_method,
    real("", "method = \"snat\""),
    "service[0].real[0].method",
    "snat",
    "unknown forwarding method"
);
rule!(
    real_upper_threshold,
    real("", "upper_threshold = -1"),
    "service[0].real[0].upper_threshold",
    "upper_threshold",
    "invalid value -1"
);
rule!(
    real_thresholds,
    real("", "upper_threshold = 10\nlower_threshold = 10"),
    "service[0].real[0].lower_threshold",
    "lower_threshold",
    "must be below upper_threshold 10"
);
rule!(
    real_duplicate,
    format!(
        "{}[[service.real]]\naddress = \"198.18.1.11\"\nweight = 5\n",
        real("", "")
    ),
    "service[0].real[1].address",
    "198.18.1.11\"\nweight = 5",
    "duplicate real server 198.18.1.11:80"
);
