"""The compose cluster's H2O network mask covers the network its containers are on."""

from __future__ import annotations

import ipaddress
import re

import yaml

from tests.conftest import ROOT


def _effective_conf(command: str, key: str) -> str:
    """A spark-submit `--conf key=value` of the submit command, else conf/cluster.yaml's."""
    found = re.findall(rf"--conf {re.escape(key)}=(\S+)", command)
    if found:
        return str(found[-1])
    cluster = yaml.safe_load((ROOT / "conf" / "cluster.yaml").read_text())
    return str(cluster["spark"]["conf"][key])


def test_h2o_network_masks_cover_the_compose_subnet() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    subnets = [ipaddress.IPv4Network(item["subnet"]) for item in compose["networks"]["default"]["ipam"]["config"]]
    assert subnets, "the compose network needs an explicit subnet for H2O's mask to name"
    command = " ".join(compose["services"]["submit"]["command"])
    for key in ("spark.ext.h2o.node.network.mask", "spark.ext.h2o.client.network.mask"):
        mask = ipaddress.IPv4Network(_effective_conf(command, key))
        assert all(subnet.subnet_of(mask) for subnet in subnets), f"{key}={mask} misses {subnets}"
    services = [name for name, service in compose["services"].items() if "networks" in service]
    assert services == [], f"{services} leave the default network"
