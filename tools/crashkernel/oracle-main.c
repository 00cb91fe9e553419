
/* The oracle's driver: one parse_crashkernel() call per input line. */
int main(void)
{
	static char line[65536];

	while (fgets(line, sizeof(line), stdin)) {
		unsigned long long ram, size, base, low = 0, cma = 0;
		bool high = false;
		char *cmd, *tab;
		int ret;

		line[strcspn(line, "\n")] = 0;
		ram = strtoull(line, &tab, 0);
		oracle_default_low = strtoull(tab + 1, &cmd, 0);
		cmd++;
		ret = parse_crashkernel(cmd, ram, &size, &base, &low, &cma, &high);
		if (ret)
			printf("ret=%d\n", ret);
		else
			printf("ret=0 size=0x%llx base=0x%llx low=0x%llx cma=0x%llx high=%d\n",
			       size, base, low, cma, high);
	}
	return 0;
}
