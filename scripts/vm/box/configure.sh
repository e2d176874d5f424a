#!/usr/bin/env bash
# Runs inside the box's tree (chroot, from build-box.sh's mmdebstrap customize hook): makes it a Vagrant box that
# boots quietly under software emulation. Vagrant's insecure public key is at /tmp/vagrant.pub.
set -euo pipefail

# --- boot, file systems, name -------------------------------------------------------------------------------------
printf 'LABEL=svcd-root / ext4 rw,errors=remount-ro 0 1\n' >/etc/fstab
echo svcd-vm >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 svcd-vm\n::1 localhost ip6-localhost ip6-loopback\n' >/etc/hosts
# Empty: each VM makes its own machine id on first boot (journal, D-Bus, DHCP client id).
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
echo 'LANG=C.UTF-8' >/etc/default/locale

# --- network: DHCP on the management interface (net.ifnames=0 names it eth0) --------------------------------------
mkdir -p /etc/systemd/network
cat >/etc/systemd/network/80-vagrant.network <<'EOF_NET'
[Match]
Name=eth*

[Network]
DHCP=ipv4
EOF_NET
systemctl enable systemd-networkd.service >/dev/null 2>&1
# Nothing waits for "online": Vagrant finds the VM by its DHCP lease.
systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1

# --- the vagrant user ---------------------------------------------------------------------------------------------
useradd --create-home --shell /bin/bash --comment vagrant vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
install -m 0600 -o vagrant -g vagrant /tmp/vagrant.pub /home/vagrant/.ssh/authorized_keys
printf 'vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n' >/etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant

# --- ssh: one host key, made on each VM's first boot (no key is shared by every VM of the box) ---------------------
rm -f /etc/ssh/ssh_host_*
cat >/etc/ssh/sshd_config.d/svcd-vm.conf <<'EOF_SSHD'
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
EOF_SSHD
cat >/etc/systemd/system/svcd-vm-hostkey.service <<'EOF_UNIT'
[Unit]
Description=ssh host key for this VM
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
RequiredBy=ssh.service
EOF_UNIT
systemctl enable svcd-vm-hostkey.service ssh.service >/dev/null 2>&1

# --- quiet under TCG: no services the tests start themselves, no periodic jobs ------------------------------------
# svcd manages its own containerd (as on the host); the tests run their own registry and MariaDB.
for unit in containerd.service docker-registry.service mariadb.service; do
  systemctl disable "$unit" >/dev/null 2>&1 || true
done
for timer in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer; do
  systemctl mask "$timer" >/dev/null 2>&1 || true
done
# The box reaches no apt source; apt works again once sources are reachable.
apt-get clean
rm -rf /var/lib/apt/lists/*
