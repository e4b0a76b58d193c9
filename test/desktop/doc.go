// Package desktop is the graphical login test (make desktop-test): the boot
// test's Debian image plus a desktop stack (build-image.sh), booted under
// qemu with virtio-vga and ginit as PID 1; the test types a login into
// greetd's and lightdm's greeters through qemu's QMP send-key, judges
// screendumps by their colours, reads the session's facts back over the
// serial console and presses the ACPI power button. It runs only with
// GINIT_DESKTOP_TEST=1 (see docs/boot.md).
package desktop
