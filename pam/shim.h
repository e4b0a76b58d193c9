/* The C side of pam_sessiond.so: PAM entry points and small wrappers
 * for what cgo cannot call directly (variadic pam_syslog, pointer
 * out-parameters, a cleanup callback). */
#ifndef PAM_SESSIOND_SHIM_H
#define PAM_SESSIOND_SHIM_H

#include <security/pam_modules.h>

/* Internal to the module: hidden, so they never clash with or stand in
 * for another library's symbols in the application. */
#define PAMSD_HIDDEN __attribute__((visibility("hidden")))

PAMSD_HIDDEN const char *pamsd_item(pam_handle_t *pamh, int item, int *err);
PAMSD_HIDDEN void pamsd_log(pam_handle_t *pamh, int prio, const char *msg);
PAMSD_HIDDEN int pamsd_keep(pam_handle_t *pamh, const char *id, int fd, int existing);
PAMSD_HIDDEN int pamsd_kept(pam_handle_t *pamh, const char **id, int *fd, int *existing);
PAMSD_HIDDEN void pamsd_drop(pam_handle_t *pamh);
PAMSD_HIDDEN const char *pamsd_secure_getenv(const char *name);

#endif
