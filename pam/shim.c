#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <security/pam_modules.h>
#include <security/pam_ext.h>

#include "shim.h"
#include "_cgo_export.h"

/* The key of the module's data in the PAM handle. */
#define PAMSD_DATA "pam_sessiond.session"

struct pamsd_data {
	int fd;
	int existing;
	char id[];
};

/* Runs at pam_end, or when the data is replaced: the FIFO is closed
 * exactly once, whichever comes first. Pure C, so it is also safe in a
 * child that forked after open_session (where Go must not run). */
static void pamsd_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	struct pamsd_data *d = data;
	(void)pamh;
	(void)error_status;
	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

int pamsd_keep(pam_handle_t *pamh, const char *id, int fd, int existing)
{
	size_t n = strlen(id);
	struct pamsd_data *d = malloc(sizeof *d + n + 1);
	if (d == NULL)
		return PAM_BUF_ERR;
	d->fd = fd;
	d->existing = existing;
	memcpy(d->id, id, n + 1);
	int r = pam_set_data(pamh, PAMSD_DATA, d, pamsd_cleanup);
	if (r != PAM_SUCCESS) {
		d->fd = -1; /* the caller still owns fd on failure */
		free(d);
	}
	return r;
}

int pamsd_kept(pam_handle_t *pamh, const char **id, int *fd, int *existing)
{
	const void *p = NULL;
	if (pam_get_data(pamh, PAMSD_DATA, &p) != PAM_SUCCESS || p == NULL)
		return 0;
	const struct pamsd_data *d = p;
	*id = d->id;
	*fd = d->fd;
	*existing = d->existing;
	return 1;
}

void pamsd_drop(pam_handle_t *pamh)
{
	/* Replacing the data runs pamsd_cleanup on the old value. */
	pam_set_data(pamh, PAMSD_DATA, NULL, NULL);
}

const char *pamsd_item(pam_handle_t *pamh, int item, int *err)
{
	const void *p = NULL;
	*err = pam_get_item(pamh, item, &p);
	return p;
}

void pamsd_log(pam_handle_t *pamh, int prio, const char *msg)
{
	pam_syslog(pamh, prio, "%s", msg);
}

const char *pamsd_secure_getenv(const char *name)
{
	return secure_getenv(name);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return goOpenSession(pamh, flags, argc, (char **)argv);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return goCloseSession(pamh, flags, argc, (char **)argv);
}

/* A session module only: in the other stacks it neither grants nor
 * denies anything. */
PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_IGNORE;
}
