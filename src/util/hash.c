/*
 * hash.c - SHA-256 as hex (OpenSSL's EVP), and secrets compared in
 * constant time.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/util.h"

void sha256_hex(const char *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* Equal secrets?  Their digests are compared with CRYPTO_memcmp, so the
 * time taken tells nothing of where they differ, nor of their lengths. */
int dbs_secret_equal(const char *a, const char *b)
{
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned int na = 0, nb = 0;
	if (!EVP_Digest(a, strlen(a), da, &na, EVP_sha256(), NULL) ||
	    !EVP_Digest(b, strlen(b), db, &nb, EVP_sha256(), NULL) || na != nb)
		return 0;
	return CRYPTO_memcmp(da, db, na) == 0;
}

int sha256_path(const char *path, char out[65], int64_t *size)
{
	/* streamed: a dump can be any size */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	char *buf = xmalloc(1 << 20);
	ssize_t n;
	int64_t total = 0;
	while ((n = read(fd, buf, 1 << 20)) > 0) {
		EVP_DigestUpdate(h, buf, (size_t)n);
		total += n;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(h, md, &mdlen);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
	EVP_MD_CTX_free(h);
	free(buf);
	close(fd);
	if (n < 0)
		return -1;
	if (size)
		*size = total;
	return 0;
}
