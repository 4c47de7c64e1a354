import type { Page } from 'playwright-core';

export const TEST_PASSWORD = 'correct horse battery staple';

/** Creates an account through the app's account screen and waits until the app says it is signed in. */
export async function signUpInApp(page: Page, email: string): Promise<void> {
  await page.goto('/#/account');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  try {
    await page.getByText('Signed in as').waitFor();
  } catch (error) {
    const screen = await page
      .locator('main')
      .innerText()
      .catch(() => '(no main element)');
    throw new Error(`sign-up did not finish; the account screen shows:\n${screen}`, { cause: error });
  }
}

/** Signs in to an existing account through the app's account screen (a second device, a returning user). */
export async function signInInApp(page: Page, email: string): Promise<void> {
  await page.goto('/#/account');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText('Signed in as').waitFor();
}
