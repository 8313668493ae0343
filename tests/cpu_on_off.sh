#!/bin/sh
# CPU hotplug through sysfs, written for the kernel's /sys and nothing else (in the manner of the
# kernel's tools/testing/selftests/cpu-hotplug/cpu-on-off-test.sh): offline and online each
# hotpluggable CPU, then all of them at once, checking each step and the kernel's refusals.
# Exit 0 on success, 1 on a failure, 4 (the selftests' skip) without hotpluggable CPUs.
SYSFS=$(mount -t sysfs | head -1 | awk '{ print $3 }')
CPUS=$SYSFS/devices/system/cpu
[ -d "$CPUS" ] || { echo "cpu-on-off: no sysfs"; exit 4; }

hotpluggable() {
	for cpu in "$CPUS"/cpu[0-9]*; do
		[ -f "$cpu/online" ] && echo "${cpu##*/cpu}"
	done
}
state() { cat "$CPUS/cpu$1/online"; }
fail() { echo "cpu-on-off: $*"; exit 1; }

[ -n "$(hotpluggable)" ] || { echo "cpu-on-off: no hotpluggable CPU"; exit 4; }

for cpu in $(hotpluggable); do
	echo 0 > "$CPUS/cpu$cpu/online" || fail "offline cpu$cpu"
	[ "$(state "$cpu")" = 0 ] || fail "cpu$cpu still online"
	grep -q "^cpu$cpu " /proc/stat && fail "offline cpu$cpu still in /proc/stat"
	[ -d "$CPUS/cpu$cpu/topology" ] && fail "offline cpu$cpu still has a topology"
	echo 0 > "$CPUS/cpu$cpu/online" || fail "offlining offline cpu$cpu is not a no-op"
	echo 1 > "$CPUS/cpu$cpu/online" || fail "online cpu$cpu"
	[ "$(state "$cpu")" = 1 ] || fail "cpu$cpu still offline"
	if echo 2 > "$CPUS/cpu$cpu/online" 2>/dev/null; then fail "cpu$cpu took 2"; fi
done

for cpu in $(hotpluggable); do echo 0 > "$CPUS/cpu$cpu/online" || fail "offline cpu$cpu"; done
[ "$(cat "$CPUS/online")" = 0 ] || fail "online is $(cat "$CPUS/online") with only cpu0 left"
for cpu in $(hotpluggable); do echo 1 > "$CPUS/cpu$cpu/online" || fail "online cpu$cpu"; done
[ "$(cat "$CPUS/offline")" = "" ] || fail "offline is $(cat "$CPUS/offline")"
[ "$(cat "$CPUS/online")" = "$(cat "$CPUS/possible")" ] || fail "not every CPU came back"
echo "cpu-on-off: every hotpluggable CPU went offline and came back"
