/** The phone co-signer's root view. */
export function PhoneApp() {
  return (
    <main data-testid="phone-root">
      <h1>Duet</h1>
      <p>This phone co-signs your Duet wallet. Scan the pairing code shown by the extension.</p>
    </main>
  );
}
