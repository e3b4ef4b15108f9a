/** The popup's root view. */
export function PopupApp() {
  return (
    <main class="popup" data-testid="popup-root">
      <header class="brand">
        <span class="logo" aria-hidden="true" />
        <h1>Duet</h1>
      </header>
      <p class="lede">Your browser and your phone co-sign every transaction. Neither holds the whole key.</p>
    </main>
  );
}
