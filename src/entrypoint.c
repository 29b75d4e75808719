// Forward routine registration from C to Rust so that the linker keeps the static library.
void R_init_innsight_extendr(void *dll);
void register_extendr_panic_hook(void);

void R_init_innsight(void *dll) {
    register_extendr_panic_hook();
    R_init_innsight_extendr(dll);
}
